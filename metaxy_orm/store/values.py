"""Column values checked against the column type and the backend: exact, or refused.

``write`` refuses a whole batch, before anything reaches the database, when one value would
change on its way in: an integer beyond the column's width, a float a 32-bit ``FLOAT`` would
round, a decimal with more places than the column's scale, text longer than its declared length,
a NUL character where text cannot hold one, NaN where the database stores NULL, a naive
datetime for a zone-aware column. Every check is a vectorised Polars expression; the error names
the column, the first sample at fault and the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl
import sqlalchemy as sa

from metaxy_orm.column_types import ColumnType, describe, frame_dtype

if TYPE_CHECKING:
    from metaxy_orm._backends import Backend

__all__ = ["cast_column", "check_key_size", "sample_text"]

Fail = Callable[[str], Exception]

_UUID_TEXT = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_NESTED = (pl.List, pl.Array, pl.Struct)
#: Bytes of a primary-key entry besides the id values: data version (up to 64 characters),
#: write time, and the index tuple's own header.
_KEY_OVERHEAD = 64 + 8 + 32


def sample_text(frame: pl.DataFrame, ids: Sequence[str]) -> str:
    """``id=value, ...`` of the first row of ``frame`` (the ids present in it)."""
    present = [c for c in ids if c in frame.columns]
    if not present or not frame.height:
        return "?"
    row = frame.select(present).row(0, named=True)
    return ", ".join(f"{k}={v!r}" for k, v in row.items())


def _refuse_where(
    frame: pl.DataFrame, bad: pl.Expr, name: str, reason: str, ids: Sequence[str], fail: Fail
) -> None:
    rows = frame.filter(bad.fill_null(False))
    if rows.height:
        value = rows[name][0]
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        raise fail(
            f"column '{name}' cannot hold the value {shown} of sample "
            f"({sample_text(rows, ids)}): {reason} ({rows.height} row(s) affected)"
        )


def _json_text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Nested Polars values as JSON text (a frame's way of writing a JSON column)."""
    if isinstance(dtype, pl.Struct):
        encoded = expr.struct.json_encode()
    else:  # wrap in a one-field struct, encode, then cut the wrapper {"v": ...} off
        encoded = pl.struct(expr.alias("v")).struct.json_encode().str.slice(5).str.head(-1)
    return pl.when(expr.is_null()).then(None).otherwise(encoded)


def _normalise(frame: pl.DataFrame, name: str, column: ColumnType) -> pl.DataFrame:
    """Frame forms the checks expect: JSON as text, enums and UUIDs as lower/plain text."""
    dtype = frame.schema[name]
    if column.kind == "json" and isinstance(dtype, _NESTED):
        return frame.with_columns(_json_text(pl.col(name), dtype).alias(name))
    if column.kind == "enum" and isinstance(dtype, pl.Enum | pl.Categorical):
        return frame.with_columns(pl.col(name).cast(pl.String))
    if column.kind == "uuid" and dtype == pl.String:
        return frame.with_columns(pl.col(name).str.to_lowercase())
    return frame


def _convert(
    frame: pl.DataFrame, name: str, target: pl.DataType, ids: Sequence[str], fail: Fail
) -> pl.DataFrame:
    """Cast one column to its frame dtype, refusing values the cast would drop or change."""
    source = frame.schema[name]
    if source == target or source == pl.Null:
        return frame.with_columns(pl.col(name).cast(target))
    if isinstance(target, pl.Datetime) and isinstance(source, pl.Datetime):
        if target.time_zone and not source.time_zone:
            _refuse_where(
                frame,
                pl.col(name).is_not_null(),
                name,
                "naive datetimes are refused by a zone-aware column (as on the ORM path); "
                "give them a time zone, e.g. .dt.replace_time_zone('UTC')",
                ids,
                fail,
            )
        if source.time_zone and not target.time_zone:
            _refuse_where(
                frame,
                pl.col(name).is_not_null(),
                name,
                "the column stores naive datetimes and these have a time zone; convert them "
                "to the wall time you mean (.dt.replace_time_zone(None))",
                ids,
                fail,
            )
    value = pl.col(name)
    converted = value.cast(target, strict=False)
    _refuse_where(
        frame,
        value.is_not_null() & converted.is_null(),
        name,
        f"it is not a {target} value (the column's type)",
        ids,
        fail,
    )
    back = converted.cast(source, strict=False)
    changed = back.ne_missing(value)
    if source.is_float():
        changed = changed & ~(value.is_nan() & back.is_nan())
    _refuse_where(
        frame,
        value.is_not_null() & changed,
        name,
        f"it would change when stored as {target}",
        ids,
        fail,
    )
    return frame.with_columns(converted.alias(name))


def _checks(column: ColumnType, backend: Backend | None, value: pl.Expr) -> list[tuple[Any, str]]:
    """(bad-value condition, reason) pairs of a column kind, on its frame dtype."""
    checks: list[tuple[Any, str]] = []
    if backend is not None and column.kind in backend.refused_kinds:
        checks.append((pl.lit(True), backend.refused_kinds[column.kind]))
    if column.kind == "int" and column.bits is not None and column.bits < 64:
        low, high = -(2 ** (column.bits - 1)), 2 ** (column.bits - 1) - 1
        checks.append(
            (
                (value < low) | (value > high),
                f"out of range of the column's {column.bits}-bit integer type "
                f"({low}..{high}); declare it sa.BigInteger to store 64-bit integers",
            )
        )
    elif column.kind == "float":
        bits = column.bits or (backend.float_bits if backend is not None else 64)
        if bits == 32:
            single = value.cast(pl.Float32).cast(pl.Float64)
            checks.append(
                (
                    ~value.is_nan() & (single != value),
                    "the column is a 32-bit FLOAT here and would round it; declare it "
                    "sa.Double (what `float` maps to) to store it exactly",
                )
            )
        if backend is not None and not backend.stores_nan:
            checks.append((value.is_nan(), f"{backend.name} stores NaN as NULL"))
        if backend is not None and not backend.keeps_negative_zero:
            checks.append(
                ((value == 0) & ((1.0 / value) < 0), f"{backend.name} stores -0.0 as 0.0")
            )
    elif column.kind == "decimal":
        checks += _decimal_checks(column, backend, value)
    elif column.kind == "text":
        if column.length is not None:
            checks.append(
                (
                    value.str.len_chars() > column.length,
                    f"longer than the column's {column.length} characters",
                )
            )
        if backend is not None and not backend.text_holds_nul:
            checks.append(
                (
                    value.str.contains("\x00", literal=True),
                    f"{backend.name} text cannot hold the NUL character (\\x00); store it "
                    "as bytes, or remove it",
                )
            )
    elif column.kind == "enum":
        checks.append((~value.is_in(list(column.labels)), f"not one of {list(column.labels)}"))
    elif column.kind == "uuid":
        checks.append((~value.str.contains(_UUID_TEXT), "not a UUID"))
    elif column.kind == "date" and backend is not None and backend.date_range is not None:
        first, last = backend.date_range
        checks.append(
            (
                (value < first) | (value > last),
                f"outside the dates {backend.name} holds ({first} to {last})",
            )
        )
    return checks


def _decimal_checks(
    column: ColumnType, backend: Backend | None, value: pl.Expr
) -> list[tuple[Any, str]]:
    dtype = frame_dtype(column)
    precision, scale = column.precision, column.scale
    if precision is None and backend is not None and backend.plain_decimal is not None:
        precision, scale = backend.plain_decimal
    checks: list[tuple[Any, str]] = []
    if scale is not None:
        rounded = value.cast(pl.Decimal(38, scale)).cast(dtype)
        checks.append(
            (rounded != value, f"more than {scale} decimal place(s) (the column's scale)")
        )
    if precision is not None:
        fits = value.cast(pl.Decimal(precision, scale or 0), strict=False)
        checks.append(
            (
                fits.is_null(),
                f"more than {precision - (scale or 0)} digit(s) before the decimal point "
                f"(precision {precision}, scale {scale or 0})",
            )
        )
    if backend is not None and backend.decimals_as_double:
        checks.append(
            (
                value.cast(pl.Float64).cast(dtype) != value,
                f"{backend.name} stores decimals as 64-bit floats, which cannot hold this one "
                "exactly (at most 15 significant digits)",
            )
        )
    return checks


def cast_column(
    frame: pl.DataFrame,
    table: sa.Table,
    name: str,
    fail: Fail,
    *,
    backend: Backend | None = None,
    ids: Sequence[str] = (),
) -> pl.DataFrame:
    """One column in its frame dtype, every value checked to survive the trip exactly."""
    column = describe(table.c[name].type)
    target = frame_dtype(column)
    if isinstance(target, pl.Object):
        return frame
    frame = _normalise(frame, name, column)
    frame = _convert(frame, name, target, ids, fail)
    value = pl.col(name)
    for bad, reason in _checks(column, backend, value):
        _refuse_where(frame, value.is_not_null() & bad, name, reason, ids, fail)
    return frame


def check_key_size(
    frame: pl.DataFrame, ids: Sequence[str], backend: Backend | None, fail: Fail
) -> None:
    """Refuse ids too long for the primary-key index of the backend, naming the column."""
    limit = backend.max_index_key_bytes if backend is not None else None
    if limit is None or not frame.height:
        return
    text_ids = [c for c in ids if frame.schema[c] == pl.String]
    if not text_ids:
        return
    size = pl.sum_horizontal(pl.col(c).str.len_bytes() for c in text_ids)
    budget = limit - _KEY_OVERHEAD - 8 * (len(ids) - len(text_ids))
    longest = max(text_ids, key=lambda c: frame[c].str.len_bytes().max() or 0)
    _refuse_where(
        frame,
        size > budget,
        longest,
        f"the id values of a sample take more than {budget} bytes, beyond what the "
        f"{backend.name if backend else ''} primary-key index takes ({limit} bytes per entry); "
        "use shorter ids (e.g. a hash of the long value)",
        ids,
        fail,
    )
