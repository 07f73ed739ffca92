"""SQLite: hash functions (from Python's hashlib) and the ordered string aggregate,
registered on each connection."""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

import polars as pl
import sqlalchemy as sa

from metaxy_orm._backends.base import Backend
from metaxy_orm._backends.fingerprint import RowFingerprint
from metaxy_orm._backends.sqlite.fingerprint import SQLITE_FINGERPRINT
from metaxy_orm._backends.sqlite.hashing import STRING_AGG_FUNCTION
from metaxy_orm.exceptions import StoreError
from metaxy_orm.frames import storage_type
from metaxy_orm.hashing import SEPARATOR

__all__ = ["SQLiteBackend"]

#: Rows per ``executemany`` of the direct bulk insert (the rows of a slice are Python tuples).
_SLICE_ROWS = 100_000
#: SQLAlchemy's storage format of SQLite ``DATETIME`` (``sqlite.DATETIME._storage_format``), in
#: Polars' ``strftime`` spelling: ``2024-01-02 03:04:05.000006``.
_DATETIME_TEXT = "%Y-%m-%d %H:%M:%S%.6f"
_DEFAULT_DATETIME_FORMAT = (
    "%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d"
)


def _md5(text: str | None) -> str | None:
    return None if text is None else hashlib.md5(text.encode("utf-8")).hexdigest()


def _sha256(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


class _OrderedStringAgg:
    """``metaxy_string_agg(value, key1, key2, ...)``: values joined by ``|`` in key order.

    Keys compare as Python compares them: integers numerically, text by code point (which is
    also the byte order of UTF-8, SQLite's BINARY collation), as on every other backend.
    """

    def __init__(self) -> None:
        self.members: list[tuple[tuple[Any, ...], str]] = []

    def step(self, value: str | None, *keys: Any) -> None:
        if value is not None:
            self.members.append((keys, value))

    def finalize(self) -> str | None:
        if not self.members:
            return None
        self.members.sort(key=lambda member: member[0])
        return SEPARATOR.join(value for _, value in self.members)


def _create_aggregate(dbapi_connection: Any) -> None:
    """Register the ordered string aggregate, also through SQLAlchemy's aiosqlite adapter.

    The adapter forwards ``create_function`` to aiosqlite but has no ``create_aggregate``;
    aiosqlite runs every call on its own thread (``_execute``), where ``sqlite3`` allows it.
    """
    if hasattr(dbapi_connection, "create_aggregate"):
        dbapi_connection.create_aggregate(STRING_AGG_FUNCTION, -1, _OrderedStringAgg)
        return
    driver = getattr(dbapi_connection, "driver_connection", None)
    raw = getattr(driver, "_conn", None)
    if driver is None or raw is None or not hasattr(dbapi_connection, "await_"):
        raise StoreError(
            f"cannot register {STRING_AGG_FUNCTION}() on a {type(dbapi_connection).__name__} "
            "connection: metaxy-orm needs a sqlite3 connection (pysqlite or aiosqlite)"
        )
    dbapi_connection.await_(
        driver._execute(raw.create_aggregate, STRING_AGG_FUNCTION, -1, _OrderedStringAgg)
    )


def _register(dbapi_connection: Any) -> None:
    dbapi_connection.create_function("md5", 1, _md5, deterministic=True)
    dbapi_connection.create_function("sha256", 1, _sha256, deterministic=True)
    _create_aggregate(dbapi_connection)


def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    _register(dbapi_connection)


class SQLiteBackend(Backend):
    name: ClassVar[str] = "sqlite"
    inlines_subqueries: ClassVar[bool] = True
    efficient_full_join: ClassVar[bool] = False
    # SQLite stores NaN as NULL, -0.0 as 0.0 and NUMERIC as a 64-bit float when not integral.
    stores_nan: ClassVar[bool] = False
    keeps_negative_zero: ClassVar[bool] = False
    decimals_as_double: ClassVar[bool] = True
    fingerprint: ClassVar[RowFingerprint | None] = SQLITE_FINGERPRINT
    offline_hashing_refusal: ClassVar[str | None] = (
        "it computes hashes with md5(), a Python function that metaxy-orm registers on each "
        "connection, and a script run by sqlite3 does not have it. Run this revision online "
        "(`alembic upgrade`)"
    )

    @classmethod
    def configure_migration(cls, connection: sa.Connection | None, options: dict[str, Any]) -> None:
        from metaxy_orm._backends.sqlite.alembic import configure_migration

        configure_migration(connection, options)

    @classmethod
    def driver_errors(cls) -> tuple[type[Exception], ...]:
        import sqlite3

        return (sqlite3.Error,)

    @classmethod
    def is_missing_schema(cls, error: BaseException) -> bool:
        text = str(error)
        return any(s in text for s in ("no such table", "no such column", "has no column named"))

    def attach(self, engine: sa.Engine) -> None:
        # New connections get the functions as they open, so that the selects of a lazy
        # increment also run on connections the store never touched.
        if not sa.event.contains(engine, "connect", _on_connect):
            sa.event.listen(engine, "connect", _on_connect)

    def prepare(self, conn: sa.Connection) -> None:
        # Also per operation: connections already pooled before the store existed (or a
        # Session's) never saw the "connect" event. Registering again is idempotent and cheap.
        # The DBAPI connection (not the driver's): aiosqlite's adapter runs create_function
        # synchronously, where the aiosqlite connection itself would return a coroutine.
        _register(conn.connection.dbapi_connection)

    def bulk_insert(self, conn: sa.Connection, table: sa.Table, frame: pl.DataFrame) -> None:
        """Rows straight into ``sqlite3``'s ``executemany``, as Polars tuples, where possible.

        SQLAlchemy's own ``executemany`` builds and processes a parameter dict per row in Python
        (~2.9 s of the ~3.6 s of a 100k-row write of the video pipeline's root). Where every
        column is bound as it is (text, numbers) or is a time zone aware datetime (formatted by
        Polars exactly as SQLAlchemy stores it: UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``), the rows go
        to the driver as they are; any other column type takes the portable path.
        """
        ready = _direct_frame(conn, table, frame)
        if ready is None:
            super().bulk_insert(conn, table, frame)
            return
        import sqlite3

        quote = conn.dialect.identifier_preparer.quote
        name = conn.dialect.identifier_preparer.format_table(table)
        statement = (
            f"INSERT INTO {name} ({', '.join(quote(c) for c in ready.columns)}) "
            f"VALUES ({', '.join('?' for _ in ready.columns)})"
        )
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            for offset in range(0, ready.height, _SLICE_ROWS):
                cursor.executemany(statement, ready.slice(offset, _SLICE_ROWS).rows())
        except sqlite3.Error as exc:
            # What SQLAlchemy would have raised for the same error through its own execute.
            raise sa.exc.DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc
        finally:
            cursor.close()


def _direct_frame(conn: sa.Connection, table: sa.Table, frame: pl.DataFrame) -> pl.DataFrame | None:
    """The frame with its values as ``sqlite3`` should get them, or ``None`` where a column
    needs SQLAlchemy's own processing (or the driver is not pysqlite)."""
    if conn.dialect.driver != "pysqlite" or not frame.height:
        return None
    dialect = conn.dialect
    casts = []
    for name, dtype in frame.schema.items():
        sa_type = storage_type(table.c[name].type)
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            impl = sa_type.dialect_impl(dialect)
            if isinstance(impl, sa.TypeDecorator):
                impl = impl.impl_instance.dialect_impl(dialect)
            if getattr(impl, "_storage_format", None) != _DEFAULT_DATETIME_FORMAT:
                return None
            utc = pl.col(name).dt.convert_time_zone("UTC")
            casts.append(utc.dt.strftime(_DATETIME_TEXT).alias(name))
        elif dtype in (pl.String, pl.Int64, pl.Float64):
            if sa_type.dialect_impl(dialect).bind_processor(dialect) is not None:
                return None
        else:
            return None
    return frame.with_columns(casts) if casts else frame
