"""How a backend hashes one stored row into the checksum of a table fingerprint.

``metaxy_orm._sql.fingerprints`` sums, per table, a 64-bit hash of every row (the columns a
resolve reads): an additive checksum, so that the sum over the rows written before a watermark
can be compared with the sum stored when an answer was computed (see
``metaxy_orm.store.incremental``). Each backend spells the row hash with what its database
offers, in its folder's ``fingerprint.py``, and names it in one attribute of its ``backend.py``.

The hash is split into two halves below 2**32 (``lo``, ``hi``) which are summed separately:
sums of values below 2**32 over fewer than 2**31 rows fit a signed 64-bit integer on every
database, where a sum of full 64-bit hashes would overflow (SQLite raises, PostgreSQL widens
to numeric, others wrap); the pair of sums still compares 64 bits of hash per row.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

__all__ = ["RowFingerprint"]


class RowFingerprint:
    """A backend's row hash, and what its database needs to keep the fingerprint state."""

    #: Whether a failed statement aborts the enclosing transaction (PostgreSQL), so that the
    #: optional write of the fingerprint state must run inside a savepoint.
    needs_savepoint: bool = False
    #: Whether every statement of one of the store's transactions sees the same snapshot
    #: (DuckDB's MVCC transactions). Elsewhere (SQLite's autocommitted reads, ClickHouse, a
    #: PostgreSQL transaction at READ COMMITTED) the fingerprints are read again after a
    #: computation, unless the transaction runs at one of ``snapshot_isolations``.
    snapshot_per_transaction: bool = False
    #: Isolation levels (SQLAlchemy's names) under which a transaction reads one snapshot.
    snapshot_isolations: frozenset[str] = frozenset()
    #: Whether "the rows of the touched samples" is written ``EXISTS (...)`` rather than
    #: ``IN (SELECT ...)``: SQLite ran the restricted statements in time quadratic in the
    #: touched samples with ``IN`` (2,000 touched: 3.8 s; 4,000: 15.6 s) and linear with
    #: ``EXISTS`` (0.30 s; 0.43 s).
    semi_join_by_exists: bool = False
    #: ``Table.info`` of the state table (e.g. the table engine of ClickHouse).
    state_table_info: dict[str, Any] = {}

    def sees_one_snapshot(self, conn: sa.Connection) -> bool:
        """Whether every statement of ``conn``'s transaction reads the same snapshot."""
        if self.snapshot_per_transaction:
            return True
        level = conn.get_isolation_level() if self.snapshot_isolations else None
        return level in self.snapshot_isolations

    def guard(self, conn: sa.Connection) -> contextlib.AbstractContextManager[Any]:
        """Around an optional statement of the store's transaction: a savepoint where a failed
        statement would abort the whole transaction (rolled back on failure), else nothing."""
        return conn.begin_nested() if self.needs_savepoint else contextlib.nullcontext()

    def scanning(self, conn: sa.Connection) -> contextlib.AbstractContextManager[Any]:
        """Around the statements that hash whole tables (e.g. planner settings that spread
        the hashing over parallel workers)."""
        return contextlib.nullcontext()

    def prepare(self, conn: sa.Connection) -> None:
        """Make the row hash callable on this connection (e.g. register a function)."""

    def row_hash(self, columns: Sequence[sa.ColumnElement[Any]]) -> sa.ColumnElement[int]:
        """A 64-bit hash of the columns' values, as an integer.

        Deterministic across processes and connections (a checksum is compared with one stored
        by another process); NULL is a value like any other. Evaluated once per row, in a
        subquery, and split by :meth:`halves`.
        """
        raise NotImplementedError

    def halves(self, hashed: sa.ColumnElement[int]) -> tuple[Any, Any]:
        """``(lo, hi)``: the two 32-bit halves of a :meth:`row_hash` value (bitwise ops)."""
        return hashed.op("&")(sa.literal_column(_MASK)), hashed.op(">>")(sa.literal_column("32"))


#: 2**32 - 1, as SQL text: a bound parameter would be typed bigint, where PostgreSQL has no
#: ``bigint >> bigint``.
_MASK = "4294967295"
