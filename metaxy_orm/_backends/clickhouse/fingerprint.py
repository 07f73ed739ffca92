"""ClickHouse's row hash for table fingerprints: ``cityHash64`` of every column.

``cityHash64`` takes any number of values of any type (``Nullable`` included) and is stable
across servers and versions. The state table is a ``ReplacingMergeTree``: ClickHouse has no
transactions to replace a feature's state in, so a new state is appended and the newest one
read (every stored state is a true statement about the data it describes; merges drop the
older ones).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from metaxy_orm._backends.clickhouse.ddl import ENGINE_INFO_KEY
from metaxy_orm._backends.fingerprint import RowFingerprint

__all__ = ["CLICKHOUSE_FINGERPRINT"]

_HALF = 4294967296


class _ClickHouseFingerprint(RowFingerprint):
    state_table_info = {ENGINE_INFO_KEY: "ReplacingMergeTree(written_ns) ORDER BY (feature)"}

    def row_hash(self, columns: Sequence[sa.ColumnElement[Any]]) -> sa.ColumnElement[int]:
        return sa.func.cityHash64(*columns, type_=sa.BigInteger())

    def halves(self, hashed: sa.ColumnElement[int]) -> tuple[Any, Any]:
        # ClickHouse spells the bitwise operators as functions
        return sa.func.modulo(hashed, _HALF), sa.func.intDiv(hashed, _HALF)


CLICKHOUSE_FINGERPRINT = _ClickHouseFingerprint()
