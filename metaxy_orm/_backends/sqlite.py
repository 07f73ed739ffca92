"""SQLite: hash functions registered on each connection from Python's hashlib."""

from __future__ import annotations

import hashlib
from typing import ClassVar

import sqlalchemy as sa

from metaxy_orm._backends.base import Backend

__all__ = ["SQLiteBackend"]


def _md5(text: str | None) -> str | None:
    return None if text is None else hashlib.md5(text.encode("utf-8")).hexdigest()


def _sha256(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


class SQLiteBackend(Backend):
    name: ClassVar[str] = "sqlite"

    def prepare(self, conn: sa.Connection) -> None:
        # Registering is idempotent and cheap; doing it per operation (instead of on "connect")
        # also covers engines and sessions the user created before the store existed.
        raw = conn.connection.driver_connection
        raw.create_function("md5", 1, _md5, deterministic=True)  # type: ignore[union-attr]
        raw.create_function("sha256", 1, _sha256, deterministic=True)  # type: ignore[union-attr]
