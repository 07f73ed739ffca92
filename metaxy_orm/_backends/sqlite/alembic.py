"""What a migration on SQLite needs: batch mode, and transactional DDL with pysqlite.

- ``render_as_batch``: SQLite's ``ALTER TABLE`` cannot change columns or constraints, so
  autogenerate writes such changes in Alembic's batch mode (copy-and-move). Batch mode can only
  drop or alter constraints that have names (see ``alembic_ext.NAMING_CONVENTION``).
- Transactional DDL: Alembic's SQLite implementation runs DDL outside any transaction, because
  Python's ``sqlite3`` module (pysqlite) only opens a transaction before
  ``INSERT``/``UPDATE``/``DELETE``, so a revision that fails halfway leaves its first tables and
  columns behind. :func:`configure_migration` applies SQLAlchemy's documented recipe for
  pysqlite (the driver's own transaction handling off, a ``BEGIN`` on every SQLAlchemy
  ``begin``) to the connection's engine and tells Alembic that DDL is transactional: a failed
  upgrade then leaves the database as it was, schema and data. Every connection of that engine
  gets the same behaviour (real transactions, including for ``SELECT``). ``transactional_ddl=
  False`` keeps pysqlite's default.

Alembic ships an implementation for SQLite, so this module defines none.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa

__all__ = ["configure_migration"]

log = logging.getLogger("alembic.metaxy_orm")


def _begin_explicitly(connection: sa.Connection) -> None:
    """``BEGIN`` on each SQLAlchemy ``begin`` (the pysqlite recipe for transactional DDL)."""
    connection.exec_driver_sql("BEGIN")


def _no_driver_transactions(dbapi_connection: Any, connection_record: Any) -> None:
    dbapi_connection.isolation_level = None


def _transactional_pysqlite(connection: sa.Connection) -> bool:
    """Make pysqlite run DDL inside transactions; ``False`` where it cannot be done."""
    if connection.dialect.driver != "pysqlite":
        return False
    if connection.in_transaction():  # the caller manages the transaction: leave it alone
        log.warning(
            "SQLite: the connection is already in a transaction, so DDL stays outside "
            "transactions (pysqlite's default); call alembic_ext.configure before using it"
        )
        return False
    engine = connection.engine
    if not sa.event.contains(engine, "begin", _begin_explicitly):
        sa.event.listen(engine, "connect", _no_driver_transactions)
        sa.event.listen(engine, "begin", _begin_explicitly)
    connection.connection.driver_connection.isolation_level = None  # type: ignore[union-attr]
    return True


def configure_migration(connection: sa.Connection | None, options: dict[str, Any]) -> None:
    """Batch mode, and transactional DDL unless ``transactional_ddl=False`` was given."""
    options.setdefault("render_as_batch", True)
    if not options.get("transactional_ddl", True):
        return
    if connection is None:  # an offline script: BEGIN and COMMIT around it
        options.setdefault("transactional_ddl", True)
    elif _transactional_pysqlite(connection):
        options["transactional_ddl"] = True
