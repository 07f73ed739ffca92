"""``mx.latest(Feature)``: the latest row per sample, as a composable ORM select."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import sqlalchemy as sa
from sqlmodel import select

from metaxy_orm.columns import CREATED_AT
from metaxy_orm.resolve import feature_table

if TYPE_CHECKING:
    from sqlmodel.sql.expression import SelectOfScalar

    from metaxy_orm.feature import Feature

__all__ = ["latest"]

F = TypeVar("F", bound="Feature")


def latest(feature: type[F]) -> SelectOfScalar[F]:
    """A ``Select`` of the feature's latest rows, one per sample, as ORM objects.

    It joins the table to its own per-sample maximum of ``metaxy_created_at`` (an index-only
    aggregate on every backend), so the feature's columns stay usable as they are::

        session.exec(mx.latest(Crop).where(Crop.sample_uid == "s1")).all()
    """
    table = feature_table(feature)
    ids = [table.c[c] for c in feature.feature_spec().id_columns]
    newest = (
        sa.select(*ids, sa.func.max(table.c[CREATED_AT]).label("__mx_newest"))
        .group_by(*ids)
        .subquery("__mx_newest")
    )
    on = sa.and_(
        *(table.c[c.key] == newest.c[c.key] for c in ids),
        table.c[CREATED_AT] == newest.c["__mx_newest"],
    )
    return select(feature).join(newest, on)
