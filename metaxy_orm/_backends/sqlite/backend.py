"""SQLite: hash functions registered on each connection from Python's hashlib."""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

import sqlalchemy as sa

from metaxy_orm._backends.base import Backend

__all__ = ["SQLiteBackend"]


def _md5(text: str | None) -> str | None:
    return None if text is None else hashlib.md5(text.encode("utf-8")).hexdigest()


def _sha256(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


def _register(dbapi_connection: Any) -> None:
    dbapi_connection.create_function("md5", 1, _md5, deterministic=True)
    dbapi_connection.create_function("sha256", 1, _sha256, deterministic=True)


def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    _register(dbapi_connection)


class SQLiteBackend(Backend):
    name: ClassVar[str] = "sqlite"
    efficient_full_join: ClassVar[bool] = False
    # SQLite stores NaN as NULL, -0.0 as 0.0 and NUMERIC as a 64-bit float when not integral.
    stores_nan: ClassVar[bool] = False
    keeps_negative_zero: ClassVar[bool] = False
    decimals_as_double: ClassVar[bool] = True
    offline_hashing_refusal: ClassVar[str | None] = (
        "it computes hashes with md5(), a Python function that metaxy-orm registers on each "
        "connection, and a script run by sqlite3 does not have it. Run this revision online "
        "(`alembic upgrade`)"
    )

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
        _register(conn.connection.driver_connection)
