"""An env.py that keeps context.configure and names metaxy-orm's plugin: no alembic_ext import."""

import os

import sqlalchemy as sa
from alembic import context
from sqlmodel import SQLModel

engine = sa.create_engine(os.environ["METAXY_ORM_DATABASE_URL"], poolclass=sa.pool.NullPool)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        autogenerate_plugins=["alembic.autogenerate.*", "metaxy_orm"],
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
