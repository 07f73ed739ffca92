"""Alembic environment of a metaxy-orm project (written by ``alembic init -t metaxy``).

The feature modules and the database come from metaxy-orm's settings, the ones ``mxo`` reads:
``[tool.metaxy-orm]`` in ``pyproject.toml`` (``modules = ["myapp.features"]``,
``database_url = "..."``) or the environment (``METAXY_ORM_MODULES``,
``METAXY_ORM_DATABASE_URL``); ``sqlalchemy.url`` in ``alembic.ini`` is the fallback for the
URL. Importing the feature modules defines the features: their tables land in
``SQLModel.metadata`` and the features in the active feature graph, which
``alembic_ext.configure`` compares with the last graph snapshot recorded in the database.
"""

from __future__ import annotations

from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context
from sqlmodel import SQLModel

import alembic_ext
from metaxy_orm.config import load_config

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)

settings = load_config()
settings.import_modules()  # defines the features (tables and graph)
target_metadata = SQLModel.metadata
# The MetadataStore settings the data operations (reconcile, backfill) must use: your pipeline's.
store_options = {
    "hash_algorithm": settings.hash_algorithm,
    "hash_truncation_length": settings.hash_truncation_length,
}


def database_url() -> str:
    """metaxy-orm's database URL, else ``sqlalchemy.url`` from alembic.ini."""
    url = settings.database_url or config.get_main_option("sqlalchemy.url")
    return url or settings.require_database_url()  # the error says where to set it


def run_migrations_offline() -> None:
    """Write the SQL instead of running it (``alembic upgrade head --sql``)."""
    alembic_ext.configure(
        url=database_url(),
        target_metadata=target_metadata,
        store_options=store_options,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = sa.create_engine(database_url(), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            alembic_ext.configure(
                connection=connection,
                target_metadata=target_metadata,
                store_options=store_options,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
