"""What a SQL column type can hold, in one description that frames, checks and writers share.

``write`` refuses a value the column cannot hold exactly, ``read`` returns each column in one
Polars dtype, and the bulk loaders turn that dtype into what the database takes. All three ask
:func:`describe` about a column type instead of guessing from Python types, so they agree with
the table that ``create_all`` (or Alembic) actually created.

Frame forms (what ``store.read`` returns, what ``write`` takes from a Polars frame): numbers,
booleans, text, bytes, dates, times and durations in the matching Polars dtype; decimals as
``Decimal(38, scale)``; datetimes in microseconds, in UTC for zone-aware columns and naive
otherwise; UUIDs as their canonical text; enums as the label SQLAlchemy stores (the member name
unless ``values_callable`` says otherwise); JSON as JSON text.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl
import sqlalchemy as sa

__all__ = [
    "DEFAULT_DECIMAL_SCALE",
    "ColumnType",
    "Kind",
    "describe",
    "enum_label",
    "frame_dtype",
]

Kind = Literal[
    "int",
    "float",
    "decimal",
    "bool",
    "text",
    "binary",
    "date",
    "datetime",
    "time",
    "interval",
    "uuid",
    "enum",
    "json",
    "other",
]

#: Scale of a ``Numeric`` column declared without one (frames need a fixed scale).
DEFAULT_DECIMAL_SCALE = 9


@dataclass(frozen=True)
class ColumnType:
    """The kind of value a column holds, with the limits that matter for exactness.

    ``bits`` is the width of an integer or float column (``None`` for a float: the backend's
    plain ``FLOAT``); ``length`` the declared maximum length of text, in characters;
    ``labels`` the stored labels of an enum.
    """

    kind: Kind
    bits: int | None = None
    precision: int | None = None
    scale: int | None = None
    length: int | None = None
    timezone: bool = False
    labels: tuple[str, ...] = ()
    enum_type: sa.Enum | None = None


def _unwrap(sa_type: sa.types.TypeEngine[Any]) -> tuple[sa.types.TypeEngine[Any], bool]:
    """The type a TypeDecorator stores with, and whether it declares time zones."""
    timezone = False
    while isinstance(sa_type, sa.types.TypeDecorator):
        timezone = timezone or bool(getattr(sa_type.impl_instance, "timezone", False))
        sa_type = sa_type.impl_instance
    return sa_type, timezone


def _float_bits(sa_type: sa.Float[Any]) -> int | None:
    if isinstance(sa_type, sa.Double):
        return 64
    if isinstance(sa_type, sa.REAL):
        return 32
    if sa_type.precision is not None:  # FLOAT(p): single precision up to 24 binary digits
        return 32 if sa_type.precision <= 24 else 64
    return None


def _int_bits(sa_type: sa.Integer) -> int:
    if isinstance(sa_type, sa.BigInteger):
        return 64
    if isinstance(sa_type, sa.SmallInteger):
        return 16
    return 32


def describe(sa_type: sa.types.TypeEngine[Any]) -> ColumnType:
    """What a column of this SQL type holds (dialect types included: they subclass these)."""
    inner, timezone = _unwrap(sa_type)
    if isinstance(inner, sa.Enum):
        return ColumnType("enum", labels=tuple(inner.enums), enum_type=inner)
    if isinstance(inner, sa.JSON):
        return ColumnType("json")
    if isinstance(inner, sa.Uuid):
        return ColumnType("uuid")
    if isinstance(inner, sa.Boolean):
        return ColumnType("bool")
    if isinstance(inner, sa.Integer):
        return ColumnType("int", bits=_int_bits(inner))
    if isinstance(inner, sa.Float):
        return ColumnType("float", bits=_float_bits(inner))
    if isinstance(inner, sa.Numeric):
        return ColumnType("decimal", precision=inner.precision, scale=inner.scale)
    if isinstance(inner, sa.String):
        return ColumnType("text", length=inner.length)
    if isinstance(inner, sa.types._Binary):
        return ColumnType("binary")
    if isinstance(inner, sa.DateTime):
        return ColumnType("datetime", timezone=timezone or bool(inner.timezone))
    if isinstance(inner, sa.Date):
        return ColumnType("date")
    if isinstance(inner, sa.Time):
        return ColumnType("time")
    if isinstance(inner, sa.Interval):
        return ColumnType("interval")
    return _by_python_type(inner)


def _by_python_type(sa_type: sa.types.TypeEngine[Any]) -> ColumnType:
    """Types SQLAlchemy does not classify (user types): go by the Python type they return."""
    try:
        python_type: Any = sa_type.python_type
    except NotImplementedError:
        return ColumnType("other")
    for py, kind in (
        (bool, "bool"),
        (int, "int"),
        (float, "float"),
        (decimal.Decimal, "decimal"),
        (str, "text"),
        (bytes, "binary"),
        (dt.datetime, "datetime"),
        (dt.date, "date"),
        (dt.time, "time"),
        (dt.timedelta, "interval"),
        (uuid.UUID, "uuid"),
    ):
        if isinstance(python_type, type) and issubclass(python_type, py):
            bits = 64 if kind == "int" else None
            return ColumnType(kind, bits=bits)  # type: ignore[arg-type]
    return ColumnType("other")


def enum_label(enum_type: sa.Enum, value: Any) -> str:
    """The label SQLAlchemy stores for an enum member or label (``LookupError`` if neither)."""
    return str(enum_type._db_value_for_elem(value))  # type: ignore[no-untyped-call]


def frame_dtype(column: ColumnType) -> pl.DataType:
    """The Polars dtype a column takes in frames (see the module docstring)."""
    match column.kind:
        case "int":
            return pl.Int64()
        case "float":
            return pl.Float64()
        case "decimal":
            scale = DEFAULT_DECIMAL_SCALE if column.scale is None else column.scale
            return pl.Decimal(38, scale)
        case "bool":
            return pl.Boolean()
        case "text" | "uuid" | "enum" | "json":
            return pl.String()
        case "binary":
            return pl.Binary()
        case "datetime":
            return pl.Datetime("us", "UTC" if column.timezone else None)
        case "date":
            return pl.Date()
        case "time":
            return pl.Time()
        case "interval":
            return pl.Duration("us")
        case _:
            return pl.Object()
