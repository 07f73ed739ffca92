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

_HALF = 4294967296


class _DuckDBFingerprint(RowFingerprint):
    def row_hash(
        self, columns: Sequence[sa.ColumnElement[Any]]
    ) -> tuple[sa.ColumnElement[int], sa.ColumnElement[int]]:
        hashed = sa.func.hash(*columns, type_=sa.BigInteger())
        return hashed % _HALF, hashed.op(">>")(32)


DUCKDB_FINGERPRINT = _DuckDBFingerprint()
