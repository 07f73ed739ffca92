"""``Feature``: a SQLModel class that is also a node of the feature graph.

``class Video(mx.Feature, table=True, spec=mx.FeatureSpec(...))`` is all a user writes. At class
definition the metaclass checks the spec against the graph, injects the system columns with
their SQL types, the composite primary key (id columns, ``metaxy_data_version``,
``metaxy_created_at``) and the index that serves "latest row per sample", then registers the
class. Every check runs *before* SQLModel builds the table, so a rejected class leaves neither a
half-registered feature nor a stray table in the graph's ``MetaData``.

The table is built in the ``MetaData`` and ORM registry of the graph the class registers in
(:mod:`metaxy_orm.graph_tables`): ``SQLModel.metadata`` for the default graph, the graph's own for
one entered with ``with mx.FeatureGraph(): ...``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
from pydantic_core import PydanticUndefined as Undefined
from sqlmodel import Field, SQLModel
from sqlmodel.main import SQLModelMetaclass, _get_sqlmodel_field_value

from metaxy_orm._backends import capabilities_for, strictest_identifier_length
from metaxy_orm._backends.identifiers import latest_index_name, shorten_identifier
from metaxy_orm.column_types import describe
from metaxy_orm.columns import CREATED_AT, DATA_VERSION, RESERVED_PREFIX, system_columns
from metaxy_orm.exceptions import FeatureSpecError
from metaxy_orm.graph import FeatureGraph
from metaxy_orm.graph_tables import GraphTables, tables_of
from metaxy_orm.spec import FeatureSpec

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.sql.compiler import DDLCompiler
    from sqlalchemy.sql.ddl import BaseDDLElement
    from sqlalchemy.sql.schema import SchemaItem

    from metaxy_orm.keys import FeatureKey

__all__ = ["Feature", "FeatureMeta"]

#: The strictest identifier limit of the supported backends: names that fit work everywhere.
_MAX_IDENTIFIER = strictest_identifier_length()


def _index_serves_latest_rows(
    ddl: BaseDDLElement,
    target: SchemaItem | str,
    bind: sa.Connection | None,
    tables: list[sa.Table] | None = None,
    state: Any | None = None,
    *,
    dialect: sa.Dialect,
    compiler: DDLCompiler | None = None,
    checkfirst: bool = False,
) -> bool:
    """Create the latest-row index only where the database's planner uses it."""
    return capabilities_for(dialect.name).uses_latest_index


def _declared_columns(class_dict: dict[str, Any], bases: tuple[type, ...]) -> dict[str, str]:
    """Column name -> where it was declared, for the class body and its model bases."""
    found: dict[str, str] = {}
    for base in reversed(bases):
        fields = getattr(base, "model_fields", None)
        if not fields or getattr(base, "__metaxy_spec__", None) is not None:
            continue
        for name in fields:
            found[name] = f"base class {base.__qualname__}"
    for name in class_dict.get("__annotations__", {}):
        found[name] = "the class body"
    return found


def _check_columns(spec: FeatureSpec, class_name: str, columns: dict[str, str]) -> None:
    where = f"feature '{spec.key}' (class {class_name})"
    for name, origin in columns.items():
        if name.startswith(RESERVED_PREFIX):
            raise FeatureSpecError(
                f"{where}: column '{name}' (declared in {origin}) clashes with the system "
                f"columns; names starting with '{RESERVED_PREFIX}' are reserved for metaxy-orm. "
                "Rename the column."
            )
    missing = [c for c in spec.id_columns if c not in columns]
    if missing:
        hint = ", ".join(f"`{c}: str`" for c in missing)
        raise FeatureSpecError(
            f"{where}: id column(s) {missing} are not declared on the class. Declare them, "
            f"e.g. {hint}."
        )


def _check_identifiers(spec: FeatureSpec, table_name: str) -> None:
    """Refuse names that the strictest backend would reject or truncate."""
    if len(table_name.encode()) > _MAX_IDENTIFIER:
        raise FeatureSpecError(
            f"feature '{spec.key}': table name '{table_name}' is longer than {_MAX_IDENTIFIER} "
            "bytes; use a shorter key or set __tablename__"
        )
    for column in system_columns(spec.field_keys):
        if len(column.name.encode()) > _MAX_IDENTIFIER:
            raise FeatureSpecError(
                f"feature '{spec.key}': the system column '{column.name}' of a field would be "
                f"longer than {_MAX_IDENTIFIER} bytes; use a shorter field key"
            )


def _check_table_name(
    spec: FeatureSpec, table_name: str, class_dict: dict[str, Any], tables: GraphTables
) -> None:
    """Refuse a table name metaxy-orm reserves, or one another table already has."""
    if table_name.startswith(RESERVED_PREFIX):
        raise FeatureSpecError(
            f"feature '{spec.key}': table name '{table_name}' starts with '{RESERVED_PREFIX}', "
            "which metaxy-orm reserves for its own tables (e.g. metaxy_graph_snapshots); "
            "use another key or __tablename__"
        )
    args = class_dict.get("__table_args__")
    options = args if isinstance(args, dict) else (args[-1] if args else None)
    if isinstance(options, dict) and options.get("extend_existing"):
        return  # the user asked to redefine the table
    metadata = class_dict.get("metadata") or tables.metadata
    if isinstance(metadata, sa.MetaData) and table_name in metadata.tables:
        raise FeatureSpecError(
            f"feature '{spec.key}': table name '{table_name}' is already used by another table "
            "of the same metadata; use another key or __tablename__, or define this version "
            "of the feature in a graph of its own (`with mx.FeatureGraph(): ...`)"
        )


def _check_built_table(spec: FeatureSpec, table: sa.Table, graph: FeatureGraph) -> None:
    """Checks that need the columns as SQLAlchemy built them (``sa_column`` names included)."""
    where = f"feature '{spec.key}'"
    system = {c.name for c in system_columns(spec.field_keys)}
    for column in table.c:
        if column.name.startswith(RESERVED_PREFIX) and column.name not in system:
            raise FeatureSpecError(
                f"{where}: column '{column.name}' clashes with the system columns; names "
                f"starting with '{RESERVED_PREFIX}' are reserved for metaxy-orm (however the "
                "column is declared, sa_column=... included). Rename the column."
            )
    prefixes: dict[bytes, str] = {}
    for column in table.c:
        raw = column.name.encode()
        if len(raw) > _MAX_IDENTIFIER:
            other = prefixes.get(raw[:_MAX_IDENTIFIER])
            clash = f"; it would collide with column '{other}'" if other else ""
            raise FeatureSpecError(
                f"{where}: column name '{column.name}' is longer than {_MAX_IDENTIFIER} bytes, "
                f"which some supported databases truncate{clash}. "
                "Use a shorter name."
            )
        prefixes[raw[:_MAX_IDENTIFIER]] = column.name
    for dep in spec.deps:
        parent = graph.get_feature(dep.feature)
        parent_table = getattr(parent, "__table__", None)
        if not isinstance(parent_table, sa.Table):
            continue
        for name in (c for c in spec.id_columns if c in parent_table.c):
            mine, theirs = describe(table.c[name].type), describe(parent_table.c[name].type)
            if mine.kind != theirs.kind:
                raise FeatureSpecError(
                    f"{where}: id column '{name}' is {table.c[name].type} here but "
                    f"{parent_table.c[name].type} in upstream feature '{dep.feature}'; the "
                    "features are joined on it, so declare it with the same type in both"
                )


def _discard(cls: type, table: sa.Table) -> None:
    """Undo what SQLModel registered for a class that is then refused."""
    table.metadata.remove(table)
    registry = getattr(cls, "_sa_registry", None)
    if registry is not None:
        registry._dispose_cls(cls)


def _inject_system_columns(spec: FeatureSpec, class_dict: dict[str, Any]) -> None:
    annotations = dict(class_dict.get("__annotations__", {}))
    for column in system_columns(spec.field_keys):
        annotations[column.name] = column.python_type | None
        class_dict[column.name] = Field(
            default=None, sa_type=column.sa_type, nullable=column.nullable
        )
    class_dict["__annotations__"] = annotations


def _table_args(spec: FeatureSpec, table_name: str, user_args: Any) -> tuple[Any, ...]:
    primary_key = sa.PrimaryKeyConstraint(
        *spec.id_columns, DATA_VERSION, CREATED_AT, name=shorten_identifier(f"pk_{table_name}")
    )
    latest = sa.Index(latest_index_name(table_name), *spec.id_columns, CREATED_AT)
    latest.ddl_if(callable_=_index_serves_latest_rows)
    if user_args is None:
        return (primary_key, latest)
    if isinstance(user_args, dict):
        return (primary_key, latest, user_args)
    if isinstance(user_args, tuple):
        if user_args and isinstance(user_args[-1], dict):
            return (*user_args[:-1], primary_key, latest, user_args[-1])
        return (*user_args, primary_key, latest)
    raise FeatureSpecError(
        f"feature '{spec.key}': __table_args__ must be a tuple or a dict, "
        f"got {type(user_args).__name__}"
    )


def _widen_numbers(fields: dict[str, Any], table: sa.Table) -> None:
    """``int`` -> 64-bit ``BIGINT`` and ``float`` -> ``DOUBLE``, unless the user chose the type.

    SQLModel maps them to ``INTEGER`` (32-bit on PostgreSQL and DuckDB) and ``FLOAT`` (32-bit
    on DuckDB), which would silently narrow Python values; an explicit ``sa_type`` or
    ``sa_column`` is the user's choice and is kept (``write`` then checks values against it).
    """
    for name, info in fields.items():
        if name.startswith(RESERVED_PREFIX) or name not in table.c:
            continue
        if _get_sqlmodel_field_value(info, "sa_type", Undefined) is not Undefined:
            continue
        if isinstance(_get_sqlmodel_field_value(info, "sa_column", Undefined), sa.Column):
            continue
        column = table.c[name]
        if type(column.type) is sa.Integer:
            column.type = sa.BigInteger()
        elif type(column.type) is sa.Float:
            column.type = sa.Double()


class FeatureMeta(SQLModelMetaclass):
    """Metaclass of :class:`Feature`: takes the ``spec=`` class keyword."""

    def __new__(
        mcls,
        name: str,
        bases: tuple[type[Any], ...],
        class_dict: dict[str, Any],
        *,
        spec: FeatureSpec | None = None,
        **kwargs: Any,
    ) -> Any:
        if spec is None:
            return super().__new__(mcls, name, bases, class_dict, **kwargs)
        if not isinstance(spec, FeatureSpec):
            raise FeatureSpecError(
                f"class {name}: spec= must be a FeatureSpec, got {type(spec).__name__}"
            )
        graph = FeatureGraph.get_active()
        graph.check_feature(spec)
        _check_columns(spec, name, _declared_columns(class_dict, bases))
        class_dict["__metaxy_spec__"] = spec
        class_dict["__metaxy_graph__"] = graph
        tables = tables_of(graph)
        if kwargs.get("table") is True:
            table_name = class_dict.setdefault("__tablename__", spec.key.table_name)
            if not isinstance(table_name, str):
                table_name = spec.key.table_name
            class_dict["__table_args__"] = _table_args(
                spec, table_name, class_dict.get("__table_args__")
            )
            _check_identifiers(spec, table_name)
            _check_table_name(spec, table_name, class_dict, tables)
            _inject_system_columns(spec, class_dict)
        cls = super().__new__(mcls, name, bases, class_dict, **kwargs)
        # Read by SQLAlchemy's declarative setup in __init__: the table goes to the graph's
        # MetaData and the class to its registry (SQLModel's own for the default graph).
        if "metadata" not in class_dict:
            cls.metadata = tables.metadata
        cls._sa_registry = tables.registry
        return cls

    def __init__(
        self,
        classname: str,
        bases: tuple[type, ...],
        dict_: dict[str, Any],
        *,
        spec: FeatureSpec | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(classname, bases, dict_, **kw)  # `spec` is not SQLModel's
        if spec is None:
            return
        # SQLModel builds the table in __init__; only once it exists is the feature complete.
        table = self.__dict__.get("__table__")
        if isinstance(table, sa.Table):
            try:
                _check_built_table(spec, table, self.__metaxy_graph__)  # type: ignore[attr-defined]
            except FeatureSpecError:
                _discard(self, table)
                raise
            _widen_numbers(self.model_fields, table)
            for column in spec.id_columns:
                table.c[column].nullable = False  # part of the primary key
        self.__metaxy_graph__.add_feature(self)  # type: ignore[attr-defined]


class Feature(SQLModel, metaclass=FeatureMeta):
    """Base class of features. Subclass it with ``table=True`` and ``spec=FeatureSpec(...)``.

    A subclass without ``spec=`` is an abstract base that shares columns between features.
    """

    __metaxy_spec__: ClassVar[FeatureSpec]
    __metaxy_graph__: ClassVar[FeatureGraph]

    if TYPE_CHECKING:
        # The row-level system columns every feature table has, declared for type checkers
        # only: at run time the metaclass injects them (with their SQL types) per feature, and
        # an abstract base must not have them. Stored rows always hold a value in the NOT NULL
        # ones; a model built in Python holds None there until the store writes it. The
        # per-field columns (``metaxy_provenance__<field>``...) depend on the spec and stay
        # untyped. Keep in step with :func:`metaxy_orm.columns.system_columns`.
        metaxy_provenance: str = Field(default=None)
        metaxy_data_version: str = Field(default=None)
        metaxy_feature_version: str = Field(default=None)
        metaxy_snapshot_version: str = Field(default=None)
        metaxy_created_at: datetime = Field(default=None)
        metaxy_materialization_id: str | None = Field(default=None)

    @classmethod
    def _spec_or_raise(cls) -> FeatureSpec:
        spec = cls.__dict__.get("__metaxy_spec__")
        if not isinstance(spec, FeatureSpec):
            raise FeatureSpecError(
                f"class {cls.__qualname__} is not a feature: define it with spec=FeatureSpec(...)"
            )
        return spec

    @classmethod
    def feature_spec(cls) -> FeatureSpec:
        """The spec this class was defined with."""
        return cls._spec_or_raise()

    @classmethod
    def feature_key(cls) -> FeatureKey:
        return cls._spec_or_raise().key

    @classmethod
    def feature_graph(cls) -> FeatureGraph:
        """The graph this feature was registered in."""
        cls._spec_or_raise()
        return cls.__metaxy_graph__

    @classmethod
    def feature_version(cls, *, hash_truncation_length: int | None = None) -> str:
        """The feature's version: changes whenever one of its fields' versions does."""
        key = cls.feature_key()
        return cls.__metaxy_graph__.feature_version(
            key, hash_truncation_length=hash_truncation_length
        )

    @classmethod
    def field_versions(cls, *, hash_truncation_length: int | None = None) -> dict[str, str]:
        """Field key -> field version, sorted by field key."""
        key = cls.feature_key()
        return cls.__metaxy_graph__.field_versions(
            key, hash_truncation_length=hash_truncation_length
        )
