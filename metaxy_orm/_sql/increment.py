"""The increment: every expected or stored sample that is new, stale or orphaned.

Expected rows are compared with the feature's own latest rows in a single FULL OUTER JOIN,
which classifies every sample at once; only that answer (or, for ``status``, its counts)
leaves the database.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from metaxy_orm._sql.lineage import expansion_increment
from metaxy_orm._sql.statements import FeatureStatements
from metaxy_orm.columns import FEATURE_VERSION, PROVENANCE, changed_column

__all__ = [
    "STATUS",
    "changed_columns",
    "given_samples",
    "increment_statement",
    "status_counts",
    "status_counts_statement",
]

#: The column of an increment that says which of new, stale or orphaned a sample is.
STATUS = "__mx_status"


def changed_columns(stmts: FeatureStatements) -> list[str]:
    """``metaxy_changed__<field>`` column names of an increment, in field key order."""
    return [
        changed_column(stmts.spec.field(f).key) for f in sorted(map(str, stmts.spec.field_keys))
    ]


def _changed_flags(
    stmts: FeatureStatements, e: sa.FromClause, c: sa.FromClause
) -> list[sa.ColumnElement[bool]]:
    """Per field: must a stale sample recompute it?

    A field changed when its expected provenance differs from the stored one. A sample that is
    stale only because the feature version changed (an upstream code version moved but no
    input data yet) has no field whose provenance differs: then every field is flagged, since
    nothing tells which one the new code affects.
    """
    prov = stmts.provenance_columns
    differs = [e.c[p].is_distinct_from(c.c[p]) for p in prov]
    only_version = sa.and_(sa.not_(sa.or_(*differs)), c.c[FEATURE_VERSION] != stmts.feature_version)
    return [sa.or_(d, only_version) for d in differs]


def given_samples(stmts: FeatureStatements, name: str) -> sa.TableClause:
    """A root feature's samples given by the caller, once uploaded as the table ``name``: the
    id columns (the feature table's types) and one text column per field's provenance."""
    ids = [sa.column(c, stmts.table.c[c].type) for c in stmts.spec.id_columns]
    provenances = [sa.column(c, sa.String()) for c in stmts.provenance_columns]
    return sa.table(name, *ids, *provenances)


def increment_statement(
    stmts: FeatureStatements, expected: sa.FromClause, *, orphans: bool = True
) -> sa.Select[Any]:
    """Every sample that is new, stale or orphaned, with a status column.

    ``expected`` must have the id columns and the per-field provenance columns (and may have
    the selected upstream columns). With ``orphans=False`` only the samples of ``expected`` are
    classified (new or stale): for a few root samples added to many stored ones.
    """
    if stmts.expands:
        return expansion_increment(stmts, expected, STATUS)
    ids = list(stmts.spec.id_columns)
    current = stmts.current()
    if not stmts.backend.efficient_full_join:
        return _increment_without_full_join(stmts, expected, current, orphans=orphans)
    e, c = expected, current
    join = sa.and_(*(e.c[i] == c.c[i] for i in ids))
    prov = stmts.provenance_columns
    is_new = c.c[ids[0]].is_(None)
    is_orphaned = e.c[ids[0]].is_(None)
    differs = stmts.differs(e, c)
    status = sa.case((is_new, "new"), (is_orphaned, "orphaned"), else_="stale")
    row_provenance = sa.case(
        (is_orphaned, c.c[PROVENANCE]),
        else_=stmts.hash([e.c[p] for p in prov]),
    )
    outputs: list[sa.ColumnElement[Any]] = [sa.func.coalesce(e.c[i], c.c[i]).label(i) for i in ids]
    outputs += [sa.case((is_orphaned, c.c[p]), else_=e.c[p]).label(p) for p in prov]
    outputs.append(row_provenance.label(PROVENANCE))
    outputs += [e.c[name].label(name) for name in stmts.selected_columns() if name in e.c]
    outputs += [
        sa.case((is_new, sa.true()), (is_orphaned, sa.null()), else_=flag).label(name)
        for flag, name in zip(_changed_flags(stmts, e, c), changed_columns(stmts), strict=True)
    ]
    outputs.append(status.label(STATUS))
    return (
        sa.select(*outputs)
        .select_from(e.join(c, join, isouter=True, full=orphans))
        .where(sa.or_(is_new, is_orphaned, differs))
    )


def _increment_without_full_join(
    stmts: FeatureStatements, expected: sa.FromClause, current: sa.FromClause, *, orphans: bool
) -> sa.Select[Any]:
    """The same answer as two LEFT JOINs, for engines that cannot index a FULL JOIN.

    Some engines run a FULL JOIN of two subqueries as a nested loop without an index
    (quadratic: 7 s at 10k samples), while they build an automatic index for each LEFT JOIN
    here; their backends say ``efficient_full_join = False``. The orphan half reads only the id
    columns of ``expected``, so no hash is computed twice.
    """
    ids = list(stmts.spec.id_columns)
    prov = stmts.provenance_columns
    e, c = expected, current
    is_new = c.c[ids[0]].is_(None)
    selected = [e.c[name].label(name) for name in stmts.selected_columns() if name in e.c]
    expected_side = (
        sa.select(
            *(e.c[i].label(i) for i in ids),
            *(e.c[p].label(p) for p in prov),
            stmts.hash([e.c[p] for p in prov]).label(PROVENANCE),
            *selected,
            *(
                sa.case((is_new, sa.true()), else_=flag).label(name)
                for flag, name in zip(
                    _changed_flags(stmts, e, c), changed_columns(stmts), strict=True
                )
            ),
            sa.case((is_new, "new"), else_="stale").label(STATUS),
        )
        .select_from(e.outerjoin(c, sa.and_(*(e.c[i] == c.c[i] for i in ids))))
        .where(sa.or_(is_new, stmts.differs(e, c)))
    )
    if not orphans:
        return expected_side
    keys = sa.select(*(e.c[i] for i in ids)).subquery("__mx_expected_keys")
    orphan_side = (
        sa.select(
            *(c.c[i].label(i) for i in ids),
            *(c.c[p].label(p) for p in prov),
            c.c[PROVENANCE].label(PROVENANCE),
            *(sa.null().label(str(s.key)) for s in selected),
            *(sa.cast(sa.null(), sa.Boolean).label(name) for name in changed_columns(stmts)),
            sa.literal("orphaned").label(STATUS),
        )
        .select_from(c.outerjoin(keys, sa.and_(*(c.c[i] == keys.c[i] for i in ids))))
        .where(keys.c[ids[0]].is_(None))
    )
    union = sa.union_all(expected_side, orphan_side).subquery("__mx_increment_parts")
    return sa.select(*union.c)


def status_counts_statement(
    stmts: FeatureStatements, expected: sa.FromClause | None
) -> sa.Select[Any]:
    """``(what, count)`` rows: stored rows and samples, and new, stale and orphaned samples.

    One query per feature, grouped in the database, so that only a handful of counts travel
    whatever the size of the feature. A status with no sample has no row. Without ``expected``
    (a root feature, whose expected samples only its caller knows) only the stored counts.
    """
    table = stmts.table
    ids = [table.c[c] for c in stmts.spec.id_columns]
    samples = sa.select(*ids).distinct().subquery("__mx_samples")
    parts: list[sa.Select[Any]] = [
        sa.select(sa.literal("rows").label("what"), sa.func.count().label("n")).select_from(table),
        sa.select(sa.literal("samples").label("what"), sa.func.count().label("n")).select_from(
            samples
        ),
    ]
    if expected is not None:
        parts.append(status_counts(increment_statement(stmts, expected)))
    return sa.union_all(*parts).subquery("__mx_counts").select()


def status_counts(increment: sa.Select[Any]) -> sa.Select[Any]:
    """``(what, n)`` rows: the samples of an increment statement per status."""
    answer = increment.subquery("__mx_increment")
    counts = sa.select(answer.c[STATUS].label("what"), sa.func.count().label("n"))
    return counts.group_by(answer.c[STATUS])
