"""Alembic on ClickHouse: the implementations Alembic looks up by dialect name.

- ``clickhousedb`` (clickhouse-connect, chDB): clickhouse-connect ships ``ClickHouseImpl``
  (a version table with a MergeTree engine, ``ADD/DROP COLUMN``, ``MODIFY COLUMN``, data-skipping
  indexes); importing it registers it.
- ``clickhouse`` (clickhouse-sqlalchemy): its own Alembic module does not import on
  Alembic >= 1.15, so a small implementation is registered here: no transactional DDL, and a
  version table with an engine. Feature tables get theirs from the compile rules of
  :mod:`metaxy_orm._backends.clickhouse.ddl`, which ``op.create_table`` goes through too.

ClickHouse has no transactional DDL. Both implementations record, on the migration
connection's :func:`~metaxy_orm._backends.undo.undo_log`, how to reverse the DDL of a revision
(:class:`UndoableDDL`), which is run when the revision fails: a created table is dropped, an
added column or index is dropped. A drop, rename or type change cannot be reversed that way
and is named in a warning instead, as is raw SQL (``op.execute``).
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

import sqlalchemy as sa
from alembic.ddl.impl import DefaultImpl

from metaxy_orm._backends.clickhouse.ddl import ENGINE_INFO_KEY
from metaxy_orm._backends.identifiers import latest_index_name
from metaxy_orm._backends.undo import UndoLog, undo_log

__all__ = ["ClickHouseNativeImpl", "UndoableDDL", "load"]


class UndoableDDL(DefaultImpl):
    """Records how to reverse each DDL statement it runs, for a revision that fails later.

    Each is recorded before it runs (a statement may fail halfway), with ``IF EXISTS`` in the
    reversal. Nothing is recorded for a ``--sql`` script, where nothing runs.
    """

    def _undo(self) -> UndoLog | None:
        if self.as_sql or self.connection is None:
            return None
        return undo_log(self.connection)

    def _reverse(self, what: str, sql: str) -> None:
        undo = self._undo()
        if undo is not None:
            statement = sa.text(sql)

            def reverse(conn: sa.Connection) -> None:
                conn.execute(statement)

            undo.record(what, reverse)

    def _irreversible(self, what: str) -> None:
        undo = self._undo()
        if undo is not None:
            undo.irreversible(what)

    def _table(self, name: str, schema: str | None) -> str:
        quote = self.dialect.identifier_preparer.quote
        return f"{quote(schema)}.{quote(name)}" if schema else quote(name)

    def create_table(self, table: sa.Table, **kw: Any) -> None:
        name = self._table(table.name, table.schema)
        self._reverse(f"create table {name}: dropped", f"DROP TABLE IF EXISTS {name}")
        super().create_table(table, **kw)

    def add_column(
        self, table_name: str, column: sa.Column[Any], *, schema: str | None = None, **kw: Any
    ) -> None:
        table = self._table(table_name, schema)
        name = self.dialect.identifier_preparer.quote(column.name)
        self._reverse(
            f"add column {table}.{name}: dropped",
            f"ALTER TABLE {table} DROP COLUMN IF EXISTS {name}",
        )
        super().add_column(table_name, column, schema=schema, **kw)

    def _record_index(self, index: sa.Index) -> None:
        if index.table is not None and created_here(index, self.dialect):
            table = self._table(index.table.name, index.table.schema)
            name = self.dialect.identifier_preparer.quote(str(index.name))
            self._reverse(
                f"create index {name}: dropped", f"ALTER TABLE {table} DROP INDEX IF EXISTS {name}"
            )

    def create_index(self, index: sa.Index, **kw: Any) -> None:
        self._record_index(index)
        super().create_index(index, **kw)

    def drop_table(self, table: sa.Table, **kw: Any) -> None:
        self._irreversible(f"drop table {table.name} (its rows are gone)")
        super().drop_table(table, **kw)

    def drop_column(
        self, table_name: str, column: sa.Column[Any], *, schema: str | None = None, **kw: Any
    ) -> None:
        self._irreversible(f"drop column {table_name}.{column.name} (its values are gone)")
        super().drop_column(table_name, column, schema=schema, **kw)

    def alter_column(self, table_name: str, column_name: str, **kw: Any) -> None:
        self._irreversible(f"alter column {table_name}.{column_name}")
        super().alter_column(table_name, column_name, **kw)

    def rename_table(
        self, old_table_name: str, new_table_name: Any, schema: Any | None = None
    ) -> None:
        self._irreversible(f"rename table {old_table_name} to {new_table_name}")
        super().rename_table(old_table_name, new_table_name, schema)

    def execute(self, sql: Any, execution_options: dict[str, Any] | None = None) -> None:
        self._irreversible(f"op.execute({str(sql)[:80]!r})")
        super().execute(sql, execution_options)


class ClickHouseNativeImpl(UndoableDDL):
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


def created_here(index: sa.Index, dialect: sa.Dialect) -> bool:
    """Whether ``create_all`` creates this index on this dialect.

    By name too: ``op.create_index`` in a revision builds a new ``Index`` without the
    metadata's ``ddl_if``, and the latest-row index is never created on ClickHouse.
    """
    table = index.table.name if index.table is not None else ""
    if index.name == latest_index_name(table):
        return False
    ddl_if = getattr(index, "_ddl_if", None)
    if ddl_if is None or ddl_if.callable_ is None:
        return True
    return bool(ddl_if.callable_(None, index, None, dialect=dialect))


def _normal(type_text: str) -> str:
    return type_text.replace(" ", "").replace('"', "'")


def _connect_impl() -> type[DefaultImpl]:
    """clickhouse-connect's implementation, taught what ``create_all`` does with indexes.

    It refuses every ``op.create_index``; a feature table's latest-row index is not created on
    ClickHouse at all (the table is sorted that way): revisions keep its ``op.create_index``
    for a new table (they stay the same on every backend), which is skipped here, and
    autogenerate leaves it out of the comparison of an existing table (whose data-skipping
    indexes it reads, since nothing reflects them); and a user's plain index becomes a
    ``minmax`` data-skipping index as with ``create_all``.
    """
    base = importlib.import_module("clickhouse_connect.cc_sqlalchemy.alembic").ClickHouseImpl

    class MetaxyClickHouseImpl(UndoableDDL, base):  # type: ignore[misc, valid-type]
        __dialect__ = "clickhousedb"

        def create_index(self, index: sa.Index, **kw: Any) -> None:
            if created_here(index, self.dialect):
                self._record_index(index)
                self._exec(sa.schema.CreateIndex(index))

        def drop_index(self, index: sa.Index, **kw: Any) -> None:
            if created_here(index, self.dialect) and index.table is not None:
                table = self.dialect.identifier_preparer.format_table(index.table)
                name = self.dialect.identifier_preparer.quote(str(index.name))
                self._exec(sa.text(f"ALTER TABLE {table} DROP INDEX {name}"))

        def compare_type(self, inspector_column: sa.Column[Any], metadata_column: Any) -> bool:
            # Compare ClickHouse type texts: the metadata's portable types as create_all
            # renders them here (String, Nullable(...), DateTime64(6, 'UTC')) with what the
            # server reports, instead of portable type classes that never match reflection.
            compile_type = self.dialect.type_compiler.process
            expected = compile_type(metadata_column.type, type_expression=metadata_column)
            actual = getattr(inspector_column.type, "name", None) or compile_type(
                inspector_column.type
            )
            return _normal(expected) != _normal(str(actual))

        def correct_for_autogen_constraints(
            self,
            conn_uniques: set[Any],
            conn_indexes: set[Any],
            metadata_unique_constraints: set[Any],
            metadata_indexes: set[Any],
        ) -> None:
            super().correct_for_autogen_constraints(
                conn_uniques, conn_indexes, metadata_unique_constraints, metadata_indexes
            )
            metadata_unique_constraints.clear()  # ClickHouse has none
            # Alembic passes a frozenset when the table does not exist yet: the revision keeps
            # every index of a new table, as on every backend (create_index skips ours here).
            if not isinstance(conn_indexes, set):
                return
            for index in list(metadata_indexes):
                if not created_here(index, self.dialect):
                    metadata_indexes.discard(index)
            # clickhouse-connect reflects no index: read the data-skipping indexes.
            tables = {ix.table.name for ix in metadata_indexes if isinstance(ix.table, sa.Table)}
            known = {ix.name for ix in conn_indexes}
            for name in sorted(tables):
                conn_indexes.update(
                    ix for ix in self._skipping_indexes(name) if ix.name not in known
                )

        def _skipping_indexes(self, table_name: str) -> list[sa.Index]:
            if self.connection is None:
                return []
            rows = self.connection.execute(
                sa.text(
                    "SELECT name, expr FROM system.data_skipping_indices "
                    "WHERE database = currentDatabase() AND table = :table"
                ),
                {"table": table_name},
            ).all()
            indexes = []
            for name, expression in rows:
                columns = [c.strip().strip("`") for c in str(expression).split(",")]
                table = sa.Table(table_name, sa.MetaData(), *(sa.Column(c) for c in columns))
                indexes.append(sa.Index(str(name), *(table.c[c] for c in columns)))
            return indexes

    return MetaxyClickHouseImpl


def load() -> None:
    """Register both implementations (the clickhouse-connect one when it is installed).

    clickhouse-connect's implementation imports ``alembic.autogenerate``; while Alembic itself
    is still being imported (its plugins are set up then) that module is half built, so a
    stand-in is registered instead, which builds the real implementation when the first
    migration context asks for it (an ``env.py`` that only names the plugin calls nothing else).
    """
    if importlib.util.find_spec("clickhouse_connect") is None or _LOADED:
        return
    autogenerate = sys.modules.get("alembic.autogenerate")
    if autogenerate is not None and not hasattr(autogenerate, "compare_metadata"):
        _defer()
        return
    _LOADED.append(_connect_impl())


def _defer() -> None:
    if _DEFERRED:
        return

    class DeferredClickHouseImpl(DefaultImpl):
        """Stands in for the clickhouse-connect implementation until Alembic is imported."""

        __dialect__ = "clickhousedb"

        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            load()  # defines (and so registers) the real implementation, replacing this one
            return _LOADED[0](*args, **kwargs)

    _DEFERRED.append(DeferredClickHouseImpl)


_LOADED: list[type[DefaultImpl]] = []
_DEFERRED: list[type[DefaultImpl]] = []
