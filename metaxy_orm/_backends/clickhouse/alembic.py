"""Alembic on ClickHouse: the implementations Alembic looks up by dialect name.

- ``clickhousedb`` (clickhouse-connect, chDB): clickhouse-connect ships ``ClickHouseImpl``
  (a version table with a MergeTree engine, ``ADD/DROP COLUMN``, ``MODIFY COLUMN``, data-skipping
  indexes); importing it registers it.
- ``clickhouse`` (clickhouse-sqlalchemy): its own Alembic module does not import on
  Alembic >= 1.15, so a small implementation is registered here: no transactional DDL, and a
  version table with an engine. Feature tables get theirs from the compile rules of
  :mod:`metaxy_orm._backends.clickhouse.ddl`, which ``op.create_table`` goes through too.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import sqlalchemy as sa
from alembic.ddl.impl import DefaultImpl

from metaxy_orm._backends.clickhouse.ddl import ENGINE_INFO_KEY

__all__ = ["ClickHouseNativeImpl", "load"]


class ClickHouseNativeImpl(DefaultImpl):
    """Alembic's implementation for clickhouse-sqlalchemy (``clickhouse+native``/``+http``)."""

    __dialect__ = "clickhouse"
    transactional_ddl = False

    def version_table_impl(
        self,
        *,
        version_table: str,
        version_table_schema: str | None,
        version_table_pk: bool,
        **kw: Any,
    ) -> sa.Table:
        return sa.Table(
            version_table,
            sa.MetaData(),
            sa.Column("version_num", sa.String(32), nullable=False),
            schema=version_table_schema,
            info={ENGINE_INFO_KEY: "MergeTree() ORDER BY tuple()"},
        )


def load() -> None:
    """Register both implementations (clickhouse-connect's when it is installed)."""
    if importlib.util.find_spec("clickhouse_connect") is not None:
        importlib.import_module("clickhouse_connect.cc_sqlalchemy.alembic")
