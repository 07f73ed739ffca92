"""Data operations that reconcile, backfill or clean up a feature's rows, as single SQL statements.

They are what the Alembic extension runs inside ``alembic upgrade`` (and what
:class:`~metaxy_orm.store.MetadataStore` exposes as methods), so they are built as SQLAlchemy
statements: one ``INSERT ... SELECT`` or ``DELETE`` each, no row ever travelling to Python.
Each is idempotent: running it again finds nothing left to do and writes nothing.

- reconcile: the feature's latest rows move onto the current versions without recomputation
  (new rows keep the user's columns and carry the recomputed provenance);
- backfill: rows taken from another table or query, with provenance computed;
- cleanup: rows that are not among the latest ``keep_last`` per sample are deleted;
- undo: the rows written under one materialization id are deleted, which brings the previous
  latest rows back (metadata is append-only).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel.sql.sqltypes import UTCDateTime

from metaxy_orm.columns import (
    CREATED_AT,
    DATA_VERSION,
    FEATURE_VERSION,
    MATERIALIZATION_ID,
    PROVENANCE,
    RESERVED_PREFIX,
    SNAPSHOT_VERSION,
    data_version_column,
    newest_first,
    provenance_column,
)
from metaxy_orm.exceptions import InvalidRowsError

if TYPE_CHECKING:
    from metaxy_orm._sql.statements import FeatureStatements

__all__ = [
    "backfill_statement",
    "cleanup_statement",
    "reconcile_statement",
    "require_materialization_id",
    "undo_statement",
]


def require_materialization_id(stmts: FeatureStatements, value: object, action: str) -> str:
    """Refuse a missing or empty materialization id: it is what undoes (or selects) the rows.

    ``None`` would compare as ``IS NULL`` and select every row an ordinary ``write`` made; an
    empty or blank id cannot be told apart from a mistake.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidRowsError(
            f"{action} of feature '{stmts.spec.key}': materialization_id must be a non-empty "
            f"string (e.g. a run id or the Alembic revision), got {value!r}; nothing was changed"
        )
    return value


def _user_columns(stmts: FeatureStatements) -> list[str]:
    ids = set(stmts.spec.id_columns)
    return [
        c.name
        for c in stmts.table.c
        if c.name not in ids and not c.name.startswith(RESERVED_PREFIX)
    ]


def _versions_and_stamp(
    stmts: FeatureStatements,
    fields: list[Any],
    provenance: Sequence[sa.ColumnElement[Any]],
    data_versions: Sequence[sa.ColumnElement[Any]],
    *,
    snapshot_version: str,
    materialization_id: str,
    created_at: dt.datetime | sa.ColumnElement[Any],
) -> list[sa.ColumnElement[Any]]:
    """Every system column of a written row, from its per-field provenance and data versions."""
    return [
        *(p.label(provenance_column(f)) for p, f in zip(provenance, fields, strict=True)),
        *(d.label(data_version_column(f)) for d, f in zip(data_versions, fields, strict=True)),
        stmts.hash(provenance).label(PROVENANCE),
        stmts.hash(data_versions).label(DATA_VERSION),
        sa.literal(stmts.feature_version, sa.String()).label(FEATURE_VERSION),
        sa.literal(snapshot_version, sa.String()).label(SNAPSHOT_VERSION),
        (
            sa.type_coerce(created_at, UTCDateTime())
            if isinstance(created_at, sa.ColumnElement)
            else sa.literal(created_at, UTCDateTime())
        ).label(CREATED_AT),
        sa.literal(materialization_id, sa.String()).label(MATERIALIZATION_ID),
    ]


def _field_names(stmts: FeatureStatements) -> list[Any]:
    return sorted(stmts.spec.field_keys, key=str)


def reconcile_statement(
    stmts: FeatureStatements,
    *,
    snapshot_version: str,
    materialization_id: str,
    created_at: dt.datetime | sa.ColumnElement[Any],
) -> sa.Insert:
    """Write the stale latest rows again under the current versions, keeping user columns.

    A per-field data version that the user had overridden (different from its provenance) is
    kept: reconciling asserts that the outputs did not change.
    """
    require_materialization_id(stmts, materialization_id, "reconcile")
    ids = list(stmts.spec.id_columns)
    fields = _field_names(stmts)
    current = stmts.latest(stmts.feature, [c.name for c in stmts.table.c]).alias("__mx_current")
    expected = stmts.expected() if stmts.spec.deps else current
    c, e = current, expected
    outputs: list[sa.ColumnElement[Any]] = [c.c[i].label(i) for i in ids]
    outputs += [c.c[u].label(u) for u in _user_columns(stmts)]
    new_provenance = [e.c[provenance_column(f)] for f in fields]
    data_versions = []
    for f in fields:
        stored_dv, stored_prov = c.c[data_version_column(f)], c.c[provenance_column(f)]
        overridden = sa.and_(stored_dv.is_not(None), stored_dv.is_distinct_from(stored_prov))
        data_versions.append(sa.case((overridden, stored_dv), else_=e.c[provenance_column(f)]))
    outputs += _versions_and_stamp(
        stmts,
        fields,
        new_provenance,
        data_versions,
        snapshot_version=snapshot_version,
        materialization_id=materialization_id,
        created_at=created_at,
    )
    source: sa.FromClause = current
    if stmts.spec.deps:
        keys = stmts.expected_ids  # the parents' id columns for a feature fed by expansion
        source = current.join(e, sa.and_(*(c.c[k] == e.c[k] for k in keys)))
    select = sa.select(*outputs).select_from(source).where(stmts.differs(e, c))
    return sa.insert(stmts.table).from_select([str(o.key) for o in outputs], select)


def backfill_statement(
    stmts: FeatureStatements,
    source: sa.FromClause | sa.Select[Any],
    *,
    snapshot_version: str,
    materialization_id: str,
    created_at: dt.datetime | sa.ColumnElement[Any],
) -> sa.Insert:
    """Insert the samples of ``source`` that the feature lacks (or holds stale), with provenance.

    ``source`` has the id columns and any of the feature's own columns (matched by name). For a
    downstream feature the provenance is computed from the parents (samples without parents are
    skipped); a root feature's ``source`` must carry the ``metaxy_provenance__<field>`` columns.
    """
    require_materialization_id(stmts, materialization_id, "backfill")
    spec = stmts.spec
    ids = list(spec.id_columns)
    fields = _field_names(stmts)
    src = source.subquery("__mx_source") if isinstance(source, sa.Select) else source
    where = f"backfill of feature '{spec.key}'"
    missing = [i for i in ids if i not in src.c]
    if missing:
        raise InvalidRowsError(f"{where}: the source lacks id column(s) {missing}")
    if spec.deps:
        expected: sa.FromClause = stmts.expected()
        keys = stmts.expected_ids  # the parents' id columns for a feature fed by expansion
        joined: sa.FromClause = src.join(
            expected, sa.and_(*(src.c[k] == expected.c[k] for k in keys))
        )
    else:
        lacking = [p for p in stmts.provenance_columns if p not in src.c]
        if lacking:
            raise InvalidRowsError(
                f"{where}: '{spec.key}' is a root feature and the source lacks {lacking}"
            )
        expected, joined = src, src
    # The feature's latest rows, LEFT JOINed (one per sample): a correlated NOT EXISTS over
    # them was re-evaluated per source row by one planner (150 s for a 50k-row re-run).
    current = stmts.current()
    joined = joined.outerjoin(current, sa.and_(*(current.c[i] == src.c[i] for i in ids)))
    provenance = [expected.c[provenance_column(f)] for f in fields]
    data_versions = [
        sa.func.coalesce(src.c[data_version_column(f)], expected.c[provenance_column(f)])
        if data_version_column(f) in src.c
        else expected.c[provenance_column(f)]
        for f in fields
    ]
    outputs: list[sa.ColumnElement[Any]] = [src.c[i].label(i) for i in ids]
    outputs += [src.c[u].label(u) for u in _user_columns(stmts) if u in src.c]
    outputs += _versions_and_stamp(
        stmts,
        fields,
        provenance,
        data_versions,
        snapshot_version=snapshot_version,
        materialization_id=materialization_id,
        created_at=created_at,
    )
    absent = current.c[ids[0]].is_(None)
    select = (
        sa.select(*outputs)
        .select_from(joined)
        .where(sa.or_(absent, stmts.differs(expected, current)))
    )
    return sa.insert(stmts.table).from_select([str(o.key) for o in outputs], select)


def cleanup_statement(stmts: FeatureStatements, *, keep_last: int = 1) -> sa.Delete:
    """Delete every row that is not among the ``keep_last`` newest of its sample."""
    if isinstance(keep_last, bool) or not isinstance(keep_last, int) or keep_last < 1:
        raise InvalidRowsError(
            f"cleanup of feature '{stmts.spec.key}': keep_last must be a positive integer, "
            f"got {keep_last!r}"
        )
    table = stmts.table
    key = [*(table.c[i] for i in stmts.spec.id_columns), table.c[DATA_VERSION], table.c[CREATED_AT]]
    rank = sa.func.row_number().over(
        partition_by=[table.c[i] for i in stmts.spec.id_columns],
        order_by=newest_first(table),
    )
    ranked = sa.select(*key, rank.label("__mx_rank")).subquery("__mx_ranked")
    doomed = sa.select(*(ranked.c[c.key] for c in key)).where(ranked.c["__mx_rank"] > keep_last)
    return sa.delete(table).where(sa.tuple_(*key).in_(doomed))


def undo_statement(stmts: FeatureStatements, materialization_id: str) -> sa.Delete:
    """Delete the rows one materialization wrote; the rows before it become latest again."""
    require_materialization_id(stmts, materialization_id, "delete_materialization")
    return sa.delete(stmts.table).where(stmts.table.c[MATERIALIZATION_ID] == materialization_id)
