"""Alembic environment of the example app: its feature tables and its feature graph.

Importing ``example_app.features`` defines the features: their tables land in
``SQLModel.metadata`` and the features in the active feature graph, which is what
``alembic_ext.configure`` compares with the last snapshot recorded in the database.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context
from sqlmodel import SQLModel

import alembic_ext
import example_app.features  # noqa: F401 - defines the features (tables and graph)

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)

target_metadata = SQLModel.metadata


def database_url() -> str:
    """``METAXY_ORM_DATABASE_URL`` if set, else ``sqlalchemy.url`` from alembic.ini."""
    url = os.environ.get("METAXY_ORM_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set METAXY_ORM_DATABASE_URL or sqlalchemy.url in alembic.ini")
    return url


def run_migrations_offline() -> None:
    """Write the SQL instead of running it (``alembic upgrade head --sql``)."""
    alembic_ext.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = sa.create_engine(database_url(), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            alembic_ext.configure(connection=connection, target_metadata=target_metadata)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
