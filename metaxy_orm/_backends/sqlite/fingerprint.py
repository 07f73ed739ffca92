"""SQLite's row hash for table fingerprints: a Python function registered on the connection.

SQLite has no hash function at all. ``metaxy_row_hash(v1, v2, ...)`` returns ``blake2b`` (8
bytes, as a signed 64-bit integer) of the values' ``repr``: SQLite hands a function only ints,
floats, text, bytes and NULL, whose ``repr`` is the same in every process. It is registered
lazily before a fingerprint is read (like the hash functions of ``backend.py``), as
deterministic so SQLite may reuse it. The trade-off: a Python call per row, about 1 µs each
(once per row: ``OFFSET 0`` keeps SQLite from flattening the hashing subquery into the four
sums that use it), so a fingerprint of 100k rows costs ~0.1 s on SQLite: still far below the
resolve it saves, and SQLite is the small-data backend.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from metaxy_orm._backends.fingerprint import RowFingerprint

__all__ = ["SQLITE_FINGERPRINT"]

_FUNCTION = "metaxy_row_hash"


def _row_hash(*values: Any) -> int:
    digest = hashlib.blake2b(repr(values).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class _SQLiteFingerprint(RowFingerprint):
    semi_join_by_exists = True  # see RowFingerprint: IN (SELECT ...) went quadratic here

    def prepare(self, conn: sa.Connection) -> None:
        # The DBAPI connection: aiosqlite's adapter runs create_function synchronously.
        conn.connection.dbapi_connection.create_function(  # type: ignore[union-attr]
            _FUNCTION, -1, _row_hash, deterministic=True
        )

    def row_hash(self, columns: Sequence[sa.ColumnElement[Any]]) -> sa.ColumnElement[int]:
        return sa.func.metaxy_row_hash(*columns, type_=sa.BigInteger())


SQLITE_FINGERPRINT = _SQLiteFingerprint()
