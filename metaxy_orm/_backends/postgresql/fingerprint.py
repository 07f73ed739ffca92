"""PostgreSQL's row hash for table fingerprints: ``hashtextextended`` of the row's text.

PostgreSQL has no variadic hash of values of any type; the text form of a ``ROW(...)`` of the
columns is hashed with ``hashtextextended`` (64 bits, seed 0, stable across servers of one
major version). The text of a ``timestamptz`` follows the session's ``TimeZone`` and
``DateStyle``: two sessions that differ in them see different checksums, which only costs a
full computation (never a wrong answer). A failed statement aborts a PostgreSQL transaction,
so the optional state write runs in a savepoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from metaxy_orm._backends.fingerprint import RowFingerprint

__all__ = ["POSTGRESQL_FINGERPRINT"]


class _PostgreSQLFingerprint(RowFingerprint):
    needs_savepoint = True

    def row_hash(self, columns: Sequence[sa.ColumnElement[Any]]) -> sa.ColumnElement[int]:
        text = sa.cast(sa.func.row(*columns), sa.Text())
        return sa.func.hashtextextended(text, sa.literal_column("0"), type_=sa.BigInteger())


POSTGRESQL_FINGERPRINT = _PostgreSQLFingerprint()
