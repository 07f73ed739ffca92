"""A root feature's samples in, an increment out: the checks and shaping around a resolve."""

from __future__ import annotations

import polars as pl

from metaxy_orm._sql.increment import STATUS
from metaxy_orm._sql.statements import FeatureStatements
from metaxy_orm.columns import CHANGED_PREFIX
from metaxy_orm.exceptions import InvalidRowsError
from metaxy_orm.frames import polars_dtype
from metaxy_orm.increment import Increment
from metaxy_orm.store.batch import cast_to_table, check_not_null, check_one_row_per_sample

__all__ = ["check_root_samples", "split_increment"]


def check_root_samples(stmts: FeatureStatements, frame: pl.DataFrame) -> pl.DataFrame:
    """Check a root feature's samples: id and provenance columns, types, one row per sample."""
    spec = stmts.spec
    where = f"resolve_update('{spec.key}')"
    required = [*spec.id_columns, *stmts.provenance_columns]
    if not frame.columns:  # an empty list: no sample is expected any more
        frame = pl.DataFrame(
            schema={c: polars_dtype(stmts.table.c[c].type) for c in spec.id_columns}
            | {c: pl.String() for c in stmts.provenance_columns}
        )
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InvalidRowsError(f"{where}: samples lack column(s) {missing}")

    def fail(message: str) -> InvalidRowsError:
        return InvalidRowsError(f"{where}: {message}")

    check_not_null(frame, required, fail)
    frame = cast_to_table(frame, stmts.table, list(spec.id_columns), fail)
    frame = frame.with_columns(pl.col(c).cast(pl.String) for c in stmts.provenance_columns)
    check_one_row_per_sample(frame, list(spec.id_columns), fail)
    return frame


def split_increment(
    answer: pl.DataFrame,
    *,
    extra: pl.DataFrame | None,
    ids: list[str],
    expected_ids: list[str] | None = None,
) -> Increment:
    """The rows of one resolve, split by status; ``extra`` sample columns joined back.

    ``expected_ids``: what new and stale rows are keyed on when it is not ``ids`` (a feature
    fed by expansion: one row per parent sample, without the child-only id columns).
    """
    keys = ids if expected_ids is None else expected_ids
    child_only = [c for c in ids if c not in keys]

    flags = [c for c in answer.columns if c.startswith(CHANGED_PREFIX)]

    def part(status: str, with_extra: bool) -> pl.DataFrame:
        rows = answer.filter(pl.col(STATUS) == status).drop(STATUS)
        if status != "stale":  # only a stale sample has fields that did not change
            rows = rows.drop(flags)
        if status == "orphaned":
            return rows.sort(ids)
        rows = rows.drop(child_only)
        if with_extra and extra is not None and len(extra.columns) > len(keys):
            rows = rows.join(extra, on=keys, how="left")
        if status == "stale":  # the flags last: stale = new's columns + flags
            rows = rows.select([*(c for c in rows.columns if c not in flags), *flags])
        return rows.sort(keys)

    return Increment(
        new=part("new", True), stale=part("stale", True), orphaned=part("orphaned", False)
    )
