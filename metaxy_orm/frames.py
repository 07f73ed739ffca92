"""Polars frames in and out: input normalisation and SQL-type -> Polars-dtype mapping.

Rows given as Python objects (dicts or model instances) are turned into a frame column by
column, in the frame forms of :mod:`metaxy_orm.column_types` when the target table is known:
JSON values become JSON text, UUIDs their canonical text, enum members the label SQLAlchemy
stores, zone-aware datetimes UTC. Values that no frame form holds exactly (a NaN decimal, an
integer beyond 64 bits, a naive datetime for a zone-aware column) are refused there, naming the
column and the sample, before Polars could guess a type for them.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl
import sqlalchemy as sa
from pydantic import BaseModel

from metaxy_orm.column_types import ColumnType, describe, enum_label, frame_dtype
from metaxy_orm.exceptions import InvalidRowsError

__all__ = [
    "Rows",
    "json_text",
    "polars_dtype",
    "polars_schema",
    "python_to_frame_value",
    "storage_type",
    "to_frame",
]

#: What ``write`` and ``resolve_update`` accept as rows.
Rows = pl.DataFrame | Sequence[Mapping[str, Any]] | Sequence[BaseModel]

_INT64 = (-(2**63), 2**63 - 1)


def polars_dtype(sa_type: sa.types.TypeEngine[Any]) -> pl.DataType:
    """The Polars dtype that holds values of a SQL column type without loss."""
    return frame_dtype(describe(sa_type))


def polars_schema(columns: Sequence[sa.ColumnElement[Any]]) -> dict[str, pl.DataType]:
    """Column name -> Polars dtype for the columns of a select."""
    return {str(c.key): polars_dtype(c.type) for c in columns}


def python_to_frame_value(sa_type: sa.types.TypeEngine[Any]) -> Callable[[Any], Any] | None:
    """How a value SQLAlchemy returned for this type becomes its frame form (None: as is)."""
    column = describe(sa_type)
    if column.kind == "json":
        return json_text
    if column.kind == "uuid":
        return str
    if column.kind == "enum":
        enum_type = column.enum_type
        assert enum_type is not None
        return lambda value: str(enum_label(enum_type, value))
    return None


def storage_type(sa_type: sa.types.TypeEngine[Any]) -> sa.types.TypeEngine[Any]:
    """The type to bind a frame value of this column with (JSON text is bound as text)."""
    kind = describe(sa_type).kind
    if kind == "json":
        return sa.Text()
    if kind == "enum":
        return sa.String()
    return sa_type


def json_text(value: Any) -> str:
    """The JSON text metaxy-orm stores for a value (compact, UTF-8, no NaN/Infinity)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class _RefusedValueError(Exception):
    """A value that a column cannot hold; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _int(value: Any) -> Any:
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and not (_INT64[0] <= value <= _INT64[1])
    ):
        raise _RefusedValueError(f"{value} does not fit a 64-bit integer")
    return value


def _decimal(value: Any) -> Any:
    if isinstance(value, decimal.Decimal) and not value.is_finite():
        raise _RefusedValueError(f"{value} is not a finite decimal")
    return value


def _uuid(value: Any) -> Any:
    if value is None:
        return None
    try:
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
    except ValueError:
        raise _RefusedValueError(f"{value!r} is not a UUID") from None


def _json(value: Any) -> Any:
    if value is None:
        return None
    try:
        return json_text(value)
    except (TypeError, ValueError) as exc:
        raise _RefusedValueError(f"the value is not JSON ({exc})") from None


def _enum(column: ColumnType) -> Callable[[Any], Any]:
    enum_type = column.enum_type
    assert enum_type is not None

    def convert(value: Any) -> Any:
        if value is None:
            return None
        try:
            return str(enum_label(enum_type, value))
        except LookupError:
            raise _RefusedValueError(f"{value!r} is not one of {list(column.labels)}") from None

    return convert


def _datetime(column: ColumnType) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if not isinstance(value, dt.datetime):
            return value
        aware = value.utcoffset() is not None
        if column.timezone and not aware:
            raise _RefusedValueError(
                f"{value} is naive and the column is zone-aware: give a time zone "
                "(e.g. datetime.now(timezone.utc))"
            )
        if not column.timezone and aware:
            raise _RefusedValueError(
                f"{value} has a time zone and the column stores naive datetimes: convert it "
                "to the naive wall time you mean, or declare the column zone-aware"
            )
        return value.astimezone(dt.UTC) if aware else value

    return convert


def _converter(column: ColumnType) -> Callable[[Any], Any] | None:
    match column.kind:
        case "json":
            return _json
        case "uuid":
            return _uuid
        case "enum":
            return _enum(column)
        case "datetime":
            return _datetime(column)
        case "decimal":
            return _decimal
        case "int":
            return _int
        case _:
            return None


def _records_frame(
    records: list[Mapping[str, Any]],
    columns: Mapping[str, sa.types.TypeEngine[Any]],
    ids: Sequence[str],
    what: str,
) -> pl.DataFrame:
    names = list(dict.fromkeys(k for r in records for k in r))
    data: dict[str, pl.Series] = {}
    for name in names:
        values = [r.get(name) for r in records]
        sa_type = columns.get(name)
        dtype: pl.DataType | None = None
        if sa_type is not None:
            column = describe(sa_type)
            convert = _converter(column)
            if convert is not None:
                for i, value in enumerate(values):
                    try:
                        values[i] = convert(value)
                    except _RefusedValueError as exc:
                        sample = ", ".join(f"{c}={records[i].get(c)!r}" for c in ids)
                        raise InvalidRowsError(
                            f"{what}: column '{name}' cannot hold the value of sample "
                            f"({sample}): {exc.reason}; nothing was written"
                        ) from None
            if column.kind in ("json", "uuid", "enum"):
                dtype = pl.String()
            elif column.kind == "datetime":
                dtype = frame_dtype(column)
        data[name] = pl.Series(name, values, dtype=dtype)
    return pl.DataFrame(data)


def to_frame(
    rows: Rows,
    *,
    what: str,
    columns: Mapping[str, sa.types.TypeEngine[Any]] | None = None,
    ids: Sequence[str] = (),
) -> pl.DataFrame:
    """A Polars DataFrame from a DataFrame, a list of dicts or a list of model instances.

    With ``columns`` (name -> SQL type of the target table), Python values are put in their
    frame forms (module docstring); ``ids`` name the sample in an error.
    """
    if isinstance(rows, pl.DataFrame):
        return rows
    if isinstance(rows, pl.LazyFrame):
        return rows.collect()
    if isinstance(rows, str | bytes) or not isinstance(rows, Sequence):
        raise InvalidRowsError(
            f"{what}: expected a polars DataFrame, a list of dicts or a list of model "
            f"instances, got {type(rows).__name__}"
        )
    if not rows:
        return pl.DataFrame()
    records: list[Mapping[str, Any]] = []
    for i, row in enumerate(rows):
        if isinstance(row, BaseModel):
            records.append(row.model_dump())
        elif isinstance(row, Mapping):
            records.append(row)
        else:
            raise InvalidRowsError(
                f"{what}: row {i} is a {type(row).__name__}; expected a dict or a model instance"
            )
    try:
        if columns is not None:
            return _records_frame(records, columns, ids, what)
        return pl.DataFrame(records, infer_schema_length=None)
    except InvalidRowsError:
        raise  # a refusal that already names the column and the sample
    except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError) as exc:
        raise InvalidRowsError(f"{what}: the rows do not form a table: {exc}") from exc
