"""The SQLAlchemy dialect names of ClickHouse (kept apart so every module here can import it)."""

from __future__ import annotations

#: clickhouse-connect's dialect (``clickhousedb://``, also chDB with ``?interface=chdb``), and
#: clickhouse-sqlalchemy's (``clickhouse+native://``, ``clickhouse+http://``).
DIALECTS = ("clickhousedb", "clickhouse")

__all__ = ["DIALECTS"]
