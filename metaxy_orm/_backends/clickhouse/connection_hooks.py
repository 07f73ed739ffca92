"""Connection-level fixes for ClickHouse, for every connection of its two dialects.

They hang on SQLAlchemy events of all engines and pools (and act only on ClickHouse
connections), so that the store, a user's own ``Session`` and Alembic's migration connection
all see the same SQL semantics:

- session settings for standard SQL: an outer join's unmatched side is NULL, and ``max``/``sum``
  of no rows is NULL (ClickHouse returns the type's default value otherwise);
- clickhouse-connect binds datetimes with their microseconds;
- clickhouse-sqlalchemy's native sockets are closed when SQLAlchemy closes the connection.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from metaxy_orm._backends.clickhouse.ddl import modern_server
from metaxy_orm._backends.clickhouse.dialects import DIALECTS

__all__ = ["SESSION_SETTINGS", "apply_session_settings"]

#: Settings every ClickHouse session of metaxy-orm runs with: name -> value, and whether only
#: servers from 20.1 on have it (an older server refuses an unknown setting).
SESSION_SETTINGS = {
    "join_use_nulls": (1, False),
    "aggregate_functions_null_for_empty": (1, True),
}
_APPLIED = "metaxy_orm_clickhouse_session"


def apply_session_settings(conn: sa.Connection) -> None:
    """Apply :data:`SESSION_SETTINGS` once per DBAPI connection."""
    info = conn.connection.info
    if info.get(_APPLIED):
        return
    driver: Any = conn.connection.driver_connection
    cursor = driver.cursor()
    try:
        modern = modern_server(conn.dialect)
        for key, (value, needs_modern) in SESSION_SETTINGS.items():
            if modern or not needs_modern:
                cursor.execute(f"SET {key} = {value}")
    finally:
        cursor.close()
    info[_APPLIED] = True


# -- bound datetimes (clickhouse-connect) ---------------------------------------------------


def _patch_datetime_binding(dialect_class: type[Any]) -> None:
    """Bind portable ``DateTime`` values as ``DateTime64(6)`` on clickhouse-connect.

    clickhouse-connect formats a datetime parameter without its fraction unless the column
    type is its own ``DateTime64``, so an ORM insert or a ``literal(datetime)`` in an
    ``INSERT ... SELECT`` would drop the microseconds that order a sample's rows. Its dialect
    maps portable types through ``colspecs`` (SQLAlchemy's own hook); the map is filled once,
    on the first clickhouse-connect connection of the process.
    """
    from clickhouse_connect.cc_sqlalchemy.datatypes.sqltypes import DateTime64

    class _DateTime64Binding(DateTime64):  # type: ignore[no-untyped-call]
        def __init__(self, timezone: bool = False) -> None:
            super().__init__(6, "UTC" if timezone else None)

    dialect_class.colspecs = {**dialect_class.colspecs, sa.DateTime: _DateTime64Binding}


def _on_engine_connect(conn: sa.Connection) -> None:
    if conn.dialect.name not in DIALECTS:
        return
    apply_session_settings(conn)
    dialect_class: Any = type(conn.dialect)
    if conn.dialect.name == "clickhousedb" and not getattr(
        dialect_class, "_metaxy_orm_datetime64", False
    ):
        _patch_datetime_binding(dialect_class)
        dialect_class._metaxy_orm_datetime64 = True


sa.event.listen(sa.Engine, "engine_connect", _on_engine_connect)


# -- closing native connections (clickhouse-sqlalchemy) -------------------------------------


def _on_pool_close(dbapi_connection: Any, connection_record: Any) -> None:
    """clickhouse-sqlalchemy's native ``Connection.close()`` is a no-op that leaves its socket
    open until garbage collection; disconnect the driver when the pool closes it."""
    transport: Any = getattr(dbapi_connection, "transport", None)
    if type(transport).__module__.startswith("clickhouse_driver"):
        transport.disconnect()


sa.event.listen(sa.pool.Pool, "close", _on_pool_close)
sa.event.listen(sa.pool.Pool, "close_detached", _on_pool_close)
