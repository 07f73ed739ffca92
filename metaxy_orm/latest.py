"""``mx.latest(Feature)``: the latest row per sample, as a composable ORM select."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import sqlalchemy as sa
from sqlmodel import select

from metaxy_orm._sql.statements import feature_table
from metaxy_orm.columns import CREATED_AT, DATA_VERSION, newest_first

if TYPE_CHECKING:
    from sqlmodel.sql.expression import SelectOfScalar

    from metaxy_orm.feature import Feature

__all__ = ["latest"]

F = TypeVar("F", bound="Feature")


def latest(feature: type[F]) -> SelectOfScalar[F]:
    """A ``Select`` of the feature's latest rows, one per sample, as ORM objects.

    The latest row is the one :func:`~metaxy_orm.columns.newest_first` puts first, as for
    ``store.read`` and ``resolve_update``. The table is joined to the primary key of those rows,
    so the feature's columns stay usable as they are::

        session.exec(mx.latest(Crop).where(Crop.sample_uid == "s1")).all()
    """
    table = feature_table(feature)
    ids = [table.c[c] for c in feature.feature_spec().id_columns]
    key = [*ids, table.c[DATA_VERSION], table.c[CREATED_AT]]
    rank = sa.func.row_number().over(partition_by=ids, order_by=newest_first(table))
    ranked = sa.select(*key, rank.label("__mx_rank")).subquery("__mx_ranked")
    on = sa.and_(*(table.c[str(c.key)] == ranked.c[str(c.key)] for c in key))
    return select(feature).join(ranked, sa.and_(on, ranked.c["__mx_rank"] == 1))
