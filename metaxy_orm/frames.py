"""Polars frames in and out: input normalisation and SQL-type -> Polars-dtype mapping."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
import sqlalchemy as sa
from pydantic import BaseModel

from metaxy_orm.exceptions import InvalidRowsError

__all__ = ["Rows", "polars_dtype", "polars_schema", "to_frame"]

#: What ``write`` and ``resolve_update`` accept as rows.
Rows = pl.DataFrame | Sequence[Mapping[str, Any]] | Sequence[BaseModel]


def polars_dtype(sa_type: sa.types.TypeEngine[Any]) -> pl.DataType:
    """The Polars dtype that holds values of a SQL column type without loss."""
    if isinstance(sa_type, sa.types.TypeDecorator):
        return polars_dtype(sa_type.impl_instance)
    python_type: Any
    try:
        python_type = sa_type.python_type
    except NotImplementedError:
        return pl.Object()
    if issubclass(python_type, bool):
        return pl.Boolean()
    if issubclass(python_type, int):
        return pl.Int64()
    if issubclass(python_type, float):
        return pl.Float64()
    if issubclass(python_type, decimal.Decimal):
        return pl.Decimal(38, getattr(sa_type, "scale", None) or 9)
    if issubclass(python_type, str):
        return pl.String()
    if issubclass(python_type, dt.datetime):
        tz = "UTC" if getattr(sa_type, "timezone", False) else None
        return pl.Datetime("us", tz)
    if issubclass(python_type, dt.date):
        return pl.Date()
    if issubclass(python_type, dt.time):
        return pl.Time()
    if issubclass(python_type, dt.timedelta):
        return pl.Duration("us")
    if issubclass(python_type, bytes):
        return pl.Binary()
    if issubclass(python_type, uuid.UUID):
        return pl.String()
    return pl.Object()


def polars_schema(columns: Sequence[sa.ColumnElement[Any]]) -> dict[str, pl.DataType]:
    """Column name -> Polars dtype for the columns of a select."""
    return {str(c.key): polars_dtype(c.type) for c in columns}


def to_frame(rows: Rows, *, what: str) -> pl.DataFrame:
    """A Polars DataFrame from a DataFrame, a list of dicts or a list of model instances."""
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
        return pl.DataFrame(records, infer_schema_length=None)
    except (TypeError, ValueError, pl.exceptions.PolarsError) as exc:
        raise InvalidRowsError(f"{what}: the rows do not form a table: {exc}") from exc
