"""DuckDB's Alembic implementation, which Alembic does not ship.

Alembic looks up a :class:`~alembic.ddl.impl.DefaultImpl` subclass by dialect name for every
migration context, and fails with ``KeyError: 'duckdb'`` when there is none. Defining the class
registers it (Alembic's ``ImplMeta`` does that), so importing this module is the registration:
``Backend.load_alembic_implementation`` does it (the Alembic extension asks for it). An
``env.py`` that defines its own DuckDB implementation afterwards simply replaces this one.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic.ddl.impl import DefaultImpl

from metaxy_orm._backends.latest_index import SkipsLatestIndex

if TYPE_CHECKING:
    from sqlalchemy import Column, Index, UniqueConstraint
    from sqlalchemy.engine.reflection import Inspector

__all__ = ["DuckDBImpl"]

log = logging.getLogger(__name__)

_INDEX_WARNING = "duckdb-engine doesn't yet support reflection on indices"
_IDENTIFIER = re.compile(r'^(?:"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*))$')


def _columns(expressions: str) -> list[str] | None:
    """Column names from ``duckdb_indexes().expressions`` (``'[a, "b c"]'``); ``None`` when an
    expression is not a plain column, which we cannot represent as a reflected index."""
    inner = expressions.strip()
    if inner.startswith("[") and inner.endswith("]"):
        inner = inner[1:-1]
    names = []
    for item in inner.split(", "):
        match = _IDENTIFIER.match(item.strip())
        if match is None:
            return None
        quoted, plain = match.groups()
        names.append(quoted.replace('""', '"') if quoted is not None else plain)
    return names


class DuckDBImpl(SkipsLatestIndex, DefaultImpl):
    """Alembic's implementation for DuckDB (duckdb-engine).

    - ``transactional_ddl``: DuckDB runs DDL inside transactions, so a failed upgrade rolls back.
    - Indexes: duckdb-engine reflects none (it warns and returns ``[]``), so Alembic's index
      comparison would propose every index of every existing table again on each autogenerate,
      and ``alembic check`` would never pass. Alembic gives each dialect the hook
      :meth:`correct_for_autogen_constraints` to fix up what reflection reports; here it reads
      the table's indexes from DuckDB's own catalog (``duckdb_indexes()``). Added, removed and
      changed indexes are then detected as on any other backend. Limits: only indexes on plain
      columns are read, and only for tables that have at least one index in the metadata (the
      hook is not told the table otherwise). The warning is silenced for Alembic runs, since
      this hook does the reflection it warns about.
    - Aware datetimes: duckdb-engine reflects ``TIMESTAMPTZ`` without its time zone;
      :meth:`autogen_column_reflect` restores it, or every ``UTCDateTime`` column would be
      reported as changed.
    - ``ALTER TABLE``: DuckDB refuses to drop a column, or to add one that is ``NOT NULL`` or
      has a default, while the table has an index ("Cannot alter entry ... because there are
      entries that depend on it"), and every feature table has one. :meth:`drop_column` and
      :meth:`add_column` set the table's other indexes aside (drop, alter, re-create, in the
      same transaction). An index *on* the dropped column still cannot be dropped in the same
      transaction as the column: put those two steps in separate revisions.
    - The "latest row" index of feature tables: metaxy-orm does not create it on DuckDB
      (``DuckDBBackend.uses_latest_index``: DuckDB's planner never uses it, and it slows
      bulk loads): :class:`~metaxy_orm._backends.latest_index.SkipsLatestIndex` keeps
      revisions and autogenerate consistent with that.
    - Primary keys: duckdb-engine reflects none, and metaxy-orm creates none for feature
      tables on DuckDB (``.ddl``); Alembic does not compare primary keys of existing tables on
      any backend, so nothing spurious comes of it.
    """

    __dialect__ = "duckdb"
    transactional_ddl = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        warnings.filterwarnings("ignore", message=re.escape(_INDEX_WARNING))

    def autogen_column_reflect(
        self, inspector: Inspector, table: sa.Table, column_info: dict[str, Any]
    ) -> None:
        """Give back the time zone that duckdb-engine drops when it reflects ``TIMESTAMPTZ``.

        It reflects ``TIMESTAMP WITH TIME ZONE`` as a plain ``TIMESTAMP``, so every aware
        datetime column (SQLModel's ``UTCDateTime``, our ``metaxy_created_at``) would show as a
        type change on each autogenerate. Alembic calls this hook for every column it reflects;
        the catalog tells the truth.
        """
        reflected = column_info.get("type")
        if not isinstance(reflected, sa.DateTime) or reflected.timezone:
            return
        types = self._column_types(table.name, table.schema)
        if types.get(column_info["name"]) == "TIMESTAMP WITH TIME ZONE":
            column_info["type"] = sa.TIMESTAMP(timezone=True)

    def _column_types(self, table_name: str, schema: str | None) -> dict[str, str]:
        key = ("metaxy_orm.duckdb_column_types", table_name, schema)
        cached: dict[str, str] | None = self.memo.get(key)
        if cached is None and self.connection is not None:
            rows = self.connection.execute(
                sa.text(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_name = :table AND table_schema = :schema "
                    "AND table_catalog = current_database()"
                ),
                {"table": table_name, "schema": self._schema(schema)},
            ).all()
            cached = self.memo[key] = {str(name): str(type_) for name, type_ in rows}
        return cached or {}

    def add_column(
        self, table_name: str, column: Column[Any], *, schema: str | None = None, **kw: Any
    ) -> None:
        if column.nullable and column.server_default is None:
            super().add_column(table_name, column, schema=schema, **kw)  # DuckDB allows this
            return
        with self._indexes_set_aside(table_name, schema):
            super().add_column(table_name, column, schema=schema, **kw)

    def drop_column(
        self, table_name: str, column: Column[Any], *, schema: str | None = None, **kw: Any
    ) -> None:
        with self._indexes_set_aside(table_name, schema):
            super().drop_column(table_name, column, schema=schema, **kw)

    @contextmanager
    def _indexes_set_aside(self, table_name: str, schema: str | None) -> Iterator[None]:
        """Drop the table's secondary indexes, run the body, and re-create them as they were."""
        if self.as_sql or self.connection is None:  # offline: the catalog cannot be read
            yield
            return
        rows = self._index_rows(table_name, schema)
        quote = self.dialect.identifier_preparer.quote
        for row in rows:
            self.connection.exec_driver_sql(
                f"DROP INDEX {quote(self._schema(schema))}.{quote(str(row.index_name))}"
            )
        yield
        for row in rows:
            self.connection.exec_driver_sql(str(row.sql))  # schema-qualified CREATE INDEX

    def _schema(self, schema: str | None) -> str:
        return schema or self.dialect.default_schema_name or "main"

    def correct_for_autogen_constraints(
        self,
        conn_uniques: set[UniqueConstraint],
        conn_indexes: set[Index],
        metadata_unique_constraints: set[UniqueConstraint],
        metadata_indexes: set[Index],
    ) -> None:
        # Alembic passes a frozenset when the table does not exist yet: nothing to reflect, and
        # the revision keeps every index of the new table (create_index skips ours on DuckDB).
        if self.connection is None or not isinstance(conn_indexes, set):
            return
        tables = {
            (table.schema, table.name)
            for table in (
                *(ix.table for ix in metadata_indexes),
                *(uq.table for uq in metadata_unique_constraints),
            )
            if isinstance(table, sa.Table)
        }
        known = {ix.name for ix in conn_indexes}
        for schema, name in tables:
            conn_indexes.update(
                ix for ix in self._reflect_indexes(name, schema) if ix.name not in known
            )
        if isinstance(metadata_indexes, set):
            self.discard_skipped_indexes(conn_indexes, metadata_indexes)

    def _index_rows(self, table_name: str, schema: str | None) -> Sequence[sa.Row[Any]]:
        """The table's secondary indexes from DuckDB's catalog: name, uniqueness, columns, DDL."""
        assert self.connection is not None
        return self.connection.execute(
            sa.text(
                "SELECT index_name, is_unique, expressions, sql FROM duckdb_indexes() "
                "WHERE table_name = :table AND schema_name = :schema "
                "AND database_name = current_database() AND NOT is_primary"
            ),
            {"table": table_name, "schema": self._schema(schema)},
        ).all()

    def _reflect_indexes(self, table_name: str, schema: str | None) -> list[Index]:
        indexes = []
        for row in self._index_rows(table_name, schema):
            columns = _columns(str(row.expressions))
            if columns is None:
                log.info("not comparing DuckDB index %s: expression index", row.index_name)
                continue
            table = sa.Table(
                table_name, sa.MetaData(), *(sa.Column(c) for c in columns), schema=schema
            )
            index = sa.Index(row.index_name, *(table.c[c] for c in columns), unique=row.is_unique)
            indexes.append(index)
        return indexes
