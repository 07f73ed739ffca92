"""Tables on ClickHouse from the same classes as everywhere: column types and table engines.

Neither ClickHouse dialect renders portable SQLAlchemy types well (clickhouse-connect emits
``VARCHAR``/``DATETIME`` without ``Nullable``; clickhouse-sqlalchemy turns ``String(50)`` into a
NUL-padded ``FixedString(50)`` and ignores ``nullable=True``), and both refuse a table without an
engine. So, for the two ClickHouse dialects only:

- portable types compile to ClickHouse types (``String``, ``Int64``, ``DateTime64(6, 'UTC')``...),
  wrapped in ``Nullable(...)`` for a nullable column that is not part of the primary key;
  ClickHouse-native types of either driver are left to it;
- ``CREATE TABLE`` gets a table engine when the table has none: the text in
  ``table.info["clickhouse_engine"]`` if the user set it (portable: other databases ignore
  ``info``), else ``MergeTree() ORDER BY`` the latest-row index (id columns, write time) of a
  feature table, or the primary key of any other table. An engine object of the driver in
  ``__table_args__`` wins, as the driver documents.

The rules hang on compile hooks, so ``metadata.create_all()``, ``CreateTable(t).compile()`` and
Alembic's ``op.create_table`` all see them, and no other database is affected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateColumn, CreateTable
from sqlalchemy.sql.elements import Cast, Null

from metaxy_orm._backends.clickhouse.dialects import DIALECTS
from metaxy_orm.exceptions import UnsupportedDatabaseVersionError

if TYPE_CHECKING:
    from sqlalchemy.sql.compiler import DDLCompiler, GenericTypeCompiler, SQLCompiler

__all__ = ["ENGINE_INFO_KEY", "TableEngineText", "default_engine", "modern_server"]

#: ``Table.info`` key of a user's engine text, e.g. ``"ReplicatedMergeTree(...) ORDER BY id"``.
ENGINE_INFO_KEY = "clickhouse_engine"

#: The first ClickHouse release with ``DateTime64`` (and ``Bool`` a few later: 22.1).
_DATETIME64_SINCE = (20, 1)


def modern_server(dialect: sa.Dialect) -> bool:
    """Whether the server has ``DateTime64``; unknown (clickhouse-connect, chDB) means yes."""
    version = getattr(dialect, "server_version_info", None)
    return version is None or tuple(version[:2]) >= _DATETIME64_SINCE


def too_old(dialect: sa.Dialect, lacking: str) -> UnsupportedDatabaseVersionError:
    """The error for a server older than what metaxy-orm needs, naming what it lacks."""
    version = ".".join(str(v) for v in getattr(dialect, "server_version_info", None) or ())
    return UnsupportedDatabaseVersionError(
        f"ClickHouse {version} is too old: it has no {lacking}. metaxy-orm needs ClickHouse "
        ">= 20.1 (it is tested on 26.x, and on chDB); see docs/clickhouse.md"
    )


class TableEngineText:
    """An engine clause that both drivers render: clickhouse-connect calls ``compile()``,
    clickhouse-sqlalchemy visits it with its DDL compiler."""

    def __init__(self, text: str) -> None:
        self.text = text

    def compile(self) -> str:
        return f"ENGINE = {self.text}"

    def _compiler_dispatch(self, visitor: Any, **kw: Any) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"TableEngineText({self.text!r})"


def _latest_index(table: sa.Table) -> sa.Index | None:
    from metaxy_orm._backends.identifiers import latest_index_name

    name = latest_index_name(table.name)
    return next((ix for ix in table.indexes if ix.name == name), None)


def default_engine(table: sa.Table, quote: Any) -> str:
    """``MergeTree() ORDER BY`` the columns that find a sample's latest row fastest."""
    index = _latest_index(table)
    columns = list(index.columns) if index is not None else list(table.primary_key.columns)
    order = ", ".join(quote(c.name) for c in columns) if columns else ""
    return f"MergeTree() ORDER BY ({order})" if order else "MergeTree() ORDER BY tuple()"


def _ensure_engine(table: sa.Table, compiler: DDLCompiler) -> None:
    current = getattr(table, "engine", None)
    if current is not None and not isinstance(current, TableEngineText):
        return  # the driver's own engine object, given by the user
    text = table.info.get(ENGINE_INFO_KEY)
    if text is None:
        text = default_engine(table, compiler.preparer.quote)
    table.engine = TableEngineText(str(text))  # type: ignore[attr-defined]


def _create_table(element: CreateTable, compiler: DDLCompiler, **kw: Any) -> str:
    if element.element.comment is not None and not modern_server(compiler.dialect):
        raise too_old(compiler.dialect, "table comments")
    _ensure_engine(element.element, compiler)
    return str(compiler.visit_create_table(element, **kw))  # type: ignore[no-untyped-call]


def _create_column(element: CreateColumn, compiler: DDLCompiler, **kw: Any) -> str | None:
    # clickhouse-sqlalchemy marks every column nullable while rendering it, which would make
    # the type rules below wrap every column; render the column as it is declared instead.
    column = element.element
    if column.system:
        return None
    return str(compiler.get_column_specification(column))  # type: ignore[no-untyped-call]


def _no_constraint(element: Any, compiler: DDLCompiler, **kw: Any) -> None:
    """ClickHouse has no UNIQUE, CHECK or FOREIGN KEY constraints (clickhouse-connect already
    leaves them out; clickhouse-sqlalchemy renders UNIQUE and fails)."""
    return None


for _dialect in DIALECTS:
    compiles(CreateTable, _dialect)(_create_table)
    for _constraint in (sa.UniqueConstraint, sa.CheckConstraint, sa.ForeignKeyConstraint):
        compiles(_constraint, _dialect)(_no_constraint)
compiles(CreateColumn, "clickhouse")(_create_column)


# -- types ----------------------------------------------------------------------------------


def _nullable(text: str, kw: dict[str, Any]) -> str:
    column = kw.get("type_expression")
    if isinstance(column, sa.Column) and column.nullable and not column.primary_key:
        return f"Nullable({text})"
    return text


def _rule(render: Any) -> Any:
    def rule(type_: Any, compiler: GenericTypeCompiler, **kw: Any) -> str:
        return _nullable(render(type_, compiler.dialect), kw)

    return rule


def _datetime(type_: sa.DateTime, dialect: sa.Dialect) -> str:
    # Write times order a sample's rows: a DateTime of whole seconds would lose that order.
    if not modern_server(dialect):
        raise too_old(dialect, "DateTime64 (timestamps with microseconds)")
    return "DateTime64(6, 'UTC')" if type_.timezone else "DateTime64(6)"


def _numeric(type_: sa.Numeric[Any], dialect: sa.Dialect) -> str:
    if isinstance(type_, sa.Float):
        return "Float32" if (type_.precision or 53) <= 24 else "Float64"
    return f"Decimal({type_.precision or 38}, {type_.scale or 9})"


_SIMPLE: dict[type[Any], str] = {
    sa.String: "String",
    sa.Text: "String",
    sa.Unicode: "String",
    sa.UnicodeText: "String",
    sa.Enum: "String",
    sa.LargeBinary: "String",
    sa.JSON: "String",
    sa.Integer: "Int64",
    sa.BigInteger: "Int64",
    sa.SmallInteger: "Int16",
    sa.Time: "Time64(6)",
    sa.Uuid: "UUID",
}

for _dialect in DIALECTS:
    for _type, _text in _SIMPLE.items():
        compiles(_type, _dialect)(_rule(lambda t, d, text=_text: text))
    compiles(sa.Boolean, _dialect)(_rule(lambda t, d: "Bool" if modern_server(d) else "UInt8"))
    compiles(sa.DateTime, _dialect)(_rule(_datetime))
    compiles(sa.Numeric, _dialect)(_rule(_numeric))
    compiles(sa.Float, _dialect)(_rule(_numeric))
    compiles(sa.Double, _dialect)(_rule(_numeric))
    compiles(sa.Date, _dialect)(_rule(lambda t, d: "Date32" if modern_server(d) else "Date"))


def _cast(element: Cast[Any], compiler: SQLCompiler, **kw: Any) -> str:
    """``CAST(NULL AS T)`` is an error in ClickHouse unless ``T`` is ``Nullable``."""
    if not isinstance(element.clause, Null):
        return str(compiler.visit_cast(element, **kw))  # type: ignore[no-untyped-call]
    text = compiler.dialect.type_compiler_instance.process(element.type)
    if not text.startswith("Nullable("):
        text = f"Nullable({text})"
    return f"CAST(NULL AS {text})"


for _dialect in DIALECTS:
    compiles(Cast, _dialect)(_cast)


# -- indexes --------------------------------------------------------------------------------


def _create_index(element: Any, compiler: DDLCompiler, **kw: Any) -> str:
    """A portable index becomes a ``minmax`` data-skipping index: ClickHouse has no B-trees."""
    index = element.element
    columns = ", ".join(compiler.preparer.quote(c.name) for c in index.columns)
    table = compiler.preparer.format_table(index.table)
    name = compiler.preparer.quote(index.name)
    # IF NOT EXISTS: Alembic creates a new table's indexes with it and again for op.create_index
    return f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns}) TYPE minmax GRANULARITY 1"


for _dialect in DIALECTS:
    compiles(sa.schema.CreateIndex, _dialect)(_create_index)
