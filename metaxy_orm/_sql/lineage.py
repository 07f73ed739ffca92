"""The SQL of each lineage relationship, behind one small seam.

:class:`~metaxy_orm._sql.statements.FeatureStatements` builds a feature's expected rows from
each parent's latest rows; the dependency's :class:`LineageSQL` strategy first turns those rows
into rows at the granularity the expected rows are keyed on:

- identity and expansion (1:1, 1:N): the parent's rows as they are. An expansion's expected
  rows are keyed on the parent's id columns (one row per parent sample), and
  :func:`expansion_increment` compares them with the child rows of each parent;
- aggregation (N:1): one row per group, each parent field's data version replaced by
  ``trunc(H(member data versions joined by '|' in member order))`` (``VERSIONING.md``,
  "Lineage"), computed with :class:`~metaxy_orm.string_agg.OrderedStringAgg`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from metaxy_orm.columns import PROVENANCE, data_version_column
from metaxy_orm.string_agg import OrderedStringAgg

if TYPE_CHECKING:
    from metaxy_orm._sql.statements import FeatureStatements
    from metaxy_orm.spec import FeatureDep, FeatureSpec

__all__ = ["LineageSQL", "expansion_increment", "lineage_sql"]

_OK = "__mx_ok"
_MATCHED = "__mx_matched"
_ANY_OK = "__mx_any_ok"


class LineageSQL:
    """Identity and expansion: the parent's latest rows are used as they are."""

    def parent_rows(
        self,
        stmts: FeatureStatements,
        dep: FeatureDep,
        parent: FeatureSpec,
        rows: sa.FromClause,
        index: int,
    ) -> sa.FromClause:
        """The parent's rows at the granularity of the expected rows."""
        return rows


class AggregationSQL(LineageSQL):
    """N:1: one row per group, with the member data versions hashed in member order."""

    def parent_rows(
        self,
        stmts: FeatureStatements,
        dep: FeatureDep,
        parent: FeatureSpec,
        rows: sa.FromClause,
        index: int,
    ) -> sa.FromClause:
        group = list(stmts.expected_ids)
        # Member order: every upstream id column ascending, in the upstream's declared order.
        order = [rows.c[c] for c in parent.id_columns]
        hashed = [
            stmts.hash([OrderedStringAgg(rows.c[column], order)]).label(column)
            for column in (data_version_column(k) for k in parent.field_keys)
        ]
        return (
            sa.select(*(rows.c[c] for c in group), *hashed)
            .group_by(*(rows.c[c] for c in group))
            .subquery(f"__mx_group{index}")
        )


_IDENTITY = LineageSQL()
_AGGREGATION = AggregationSQL()


def lineage_sql(dep: FeatureDep) -> LineageSQL:
    """The strategy of one dependency's relationship."""
    return _AGGREGATION if dep.lineage.is_aggregation else _IDENTITY


def expansion_increment(
    stmts: FeatureStatements, expected: sa.FromClause, status: str
) -> sa.Select[Any]:
    """The increment of a feature fed by expansion: per parent sample, and orphaned children.

    ``status`` names the column that says new, stale or orphaned.

    ``expected`` has one row per parent sample (keyed on the parents' id columns). A parent is

    - ``new`` when it has no child rows;
    - ``stale`` when none of its children carries the expected provenance (under the current
      feature version);

    and a child row is ``orphaned`` when its parent is no longer expected, or when its siblings
    carry the expected provenance and it does not (the parent was expanded again without it).
    New and stale rows have the parent's id columns (the child-only id columns are NULL: the
    user's computation produces them); orphaned rows have every id column of the child.
    """
    keys = list(stmts.expected_ids)
    ids = list(stmts.spec.id_columns)
    prov = stmts.provenance_columns
    e, c = expected, stmts.current()
    selected = [e.c[name] for name in stmts.selected_columns() if name in e.c]

    matched = e.c[keys[0]].is_not(None)
    ok = sa.and_(matched, sa.not_(stmts.differs(e, c)))
    children = (
        sa.select(
            *c.c,
            sa.case((ok, 1), else_=0).label(_OK),
            sa.case((matched, 1), else_=0).label(_MATCHED),
        )
        .select_from(c.outerjoin(e, sa.and_(*(c.c[k] == e.c[k] for k in keys))))
        .subquery("__mx_children")
    )
    parents = (
        sa.select(*(children.c[k] for k in keys), sa.func.max(children.c[_OK]).label(_ANY_OK))
        .group_by(*(children.c[k] for k in keys))
        .subquery("__mx_parents")
    )

    def child_only(column: str) -> sa.ColumnElement[Any]:
        return sa.cast(sa.null(), stmts.table.c[column].type).label(column)

    is_new = parents.c[keys[0]].is_(None)
    expected_side = (
        sa.select(
            *(e.c[i].label(i) if i in keys else child_only(i) for i in ids),
            *(e.c[p].label(p) for p in prov),
            stmts.hash([e.c[p] for p in prov]).label(PROVENANCE),
            *(s.label(str(s.key)) for s in selected),
            sa.case((is_new, "new"), else_="stale").label(status),
        )
        .select_from(e.outerjoin(parents, sa.and_(*(e.c[k] == parents.c[k] for k in keys))))
        .where(sa.or_(is_new, parents.c[_ANY_OK] == 0))
    )
    orphan_side = (
        sa.select(
            *(children.c[i].label(i) for i in ids),
            *(children.c[p].label(p) for p in prov),
            children.c[PROVENANCE].label(PROVENANCE),
            *(sa.null().label(str(s.key)) for s in selected),
            sa.literal("orphaned").label(status),
        )
        .select_from(
            children.join(parents, sa.and_(*(children.c[k] == parents.c[k] for k in keys)))
        )
        .where(
            children.c[_OK] == 0,
            sa.or_(children.c[_MATCHED] == 0, parents.c[_ANY_OK] == 1),
        )
    )
    union = sa.union_all(expected_side, orphan_side).subquery("__mx_increment_parts")
    return sa.select(*union.c)
