"""DuckDB's row hash for table fingerprints: the built-in ``hash(...)`` of every column.

``hash`` takes any number of values of any type (NULL included) and returns a UBIGINT that is
stable across processes (DuckDB's documented hash, not randomised per run).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from metaxy_orm._backends.fingerprint import RowFingerprint

__all__ = ["DUCKDB_FINGERPRINT"]


class _DuckDBFingerprint(RowFingerprint):
    snapshot_per_transaction = True  # duckdb-engine begins a real (MVCC) transaction

    def row_hash(self, columns: Sequence[sa.ColumnElement[Any]]) -> sa.ColumnElement[int]:
        return sa.func.hash(*columns, type_=sa.BigInteger())


DUCKDB_FINGERPRINT = _DuckDBFingerprint()
