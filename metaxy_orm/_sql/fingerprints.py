"""Statements of the incremental resolve: table fingerprints, touched samples, restricted rows.

Built, never executed (``metaxy_orm.store.incremental`` runs them and argues why the answer
stays exact):

- :func:`fingerprint_statement`: per table, in ONE statement (one snapshot), the row count,
  an additive checksum (sums of a 64-bit row hash, see ``metaxy_orm._backends.fingerprint``)
  and the newest write time, both over every row and over the rows written up to a watermark;
- :func:`appended_print_statement`: the same sums over the rows written after a watermark
  (what a write added, to carry a stored fingerprint forward);
- :func:`touched_ids`: the samples (keyed on the feature's id columns) that have a row written
  after a table's watermark, in the feature's own table or in a parent's;
- :class:`RestrictedStatements`: :class:`~metaxy_orm._sql.statements.FeatureStatements` whose
  every base table is filtered to the touched samples (and, for the answer as it was, to the
  rows written up to each table's watermark) BEFORE the latest-row window, so the database
  reads, ranks and hashes only the rows of touched samples;
- :func:`state_table`: the system table ``metaxy_resolve_state`` that keeps, per feature, the
  fingerprints under which an answer was computed.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa

from metaxy_orm._sql.statements import FeatureStatements, feature_table
from metaxy_orm.columns import CREATED_AT

if TYPE_CHECKING:
    from metaxy_orm._backends import Backend
    from metaxy_orm.feature import Feature

__all__ = [
    "STATE_TABLE",
    "FingerprintedTable",
    "RestrictedStatements",
    "appended_print_statement",
    "count_samples_statement",
    "fingerprint_statement",
    "state_table",
    "touched_ids",
]

#: The system table of incremental resolve states (Alembic's autogenerate leaves it alone).
STATE_TABLE: Final = "metaxy_resolve_state"


#: One state table object per backend (each on its own MetaData).
_STATE_TABLES: dict[str, sa.Table] = {}


def state_table(backend: Backend) -> sa.Table:
    """The state table as this backend creates it (ClickHouse: with its table engine)."""
    table = _STATE_TABLES.get(backend.name)
    if table is None:
        table = _STATE_TABLES[backend.name] = _new_state_table(backend)
    return table


def _new_state_table(backend: Backend) -> sa.Table:
    fingerprint = backend.fingerprint
    info = dict(fingerprint.state_table_info) if fingerprint is not None else {}
    return sa.Table(
        STATE_TABLE,
        sa.MetaData(),
        # No key: two processes may store a state at once; each is true, the newest is read.
        sa.Column("feature", sa.String(), nullable=False),
        sa.Column("written_ns", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        info=info,
    )


@dataclass(frozen=True)
class FingerprintedTable:
    """A table a resolve reads, and the columns whose values its answer depends on."""

    table: sa.Table
    columns: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.table.name


def _up_to(table: sa.FromClause, watermark: datetime.datetime | None) -> sa.ColumnElement[bool]:
    """Rows written up to the watermark (none when there is none: the table was empty)."""
    if watermark is None:
        return sa.false()
    return table.c[CREATED_AT] <= watermark


def _hashed_rows(
    backend: Backend,
    item: FingerprintedTable,
    where: sa.ColumnElement[bool] | None = None,
) -> sa.Select[Any]:
    """``(write time, h)`` per row of the table (those ``where`` keeps): the one definition of
    the row hash that every checksum sums, so that sums read apart add up."""
    fingerprint = backend.fingerprint
    assert fingerprint is not None
    table = item.table
    hashed = sa.select(
        table.c[CREATED_AT], fingerprint.row_hash([table.c[c] for c in item.columns]).label("h")
    )
    if where is not None:
        hashed = hashed.where(where)
    # the checksum refers to the hash four times (two halves, all rows and up to a watermark)
    return backend.computed_once(hashed)


def fingerprint_statement(
    backend: Backend,
    tables: Sequence[FingerprintedTable],
    watermarks: Mapping[str, datetime.datetime | None],
) -> sa.Select[Any]:
    """``(name, rows, lo, hi, newest, rows_le, lo_le, hi_le)`` per table, in one statement.

    ``*_le`` are over the rows written up to the table's watermark in ``watermarks``.
    """
    fingerprint = backend.fingerprint
    assert fingerprint is not None
    parts: list[sa.Select[Any]] = []
    for item in tables:
        # the hash once per row, in a subquery; its halves summed
        hashed = _hashed_rows(backend, item).subquery(f"__mx_hashed_{len(parts)}")
        lo, hi = fingerprint.halves(hashed.c.h)
        # the same expressions for every table: UNION ALL needs the same types
        le = _up_to(hashed, watermarks.get(item.name))
        columns: list[sa.ColumnElement[Any]] = [
            sa.literal(item.name, sa.String()).label("name"),
            sa.func.count().label("rows"),
            sa.func.sum(lo).label("lo"),
            sa.func.sum(hi).label("hi"),
            sa.func.max(hashed.c[CREATED_AT]).label("newest"),
            sa.func.sum(sa.case((le, 1), else_=0)).label("rows_le"),
            sa.func.sum(sa.case((le, lo), else_=0)).label("lo_le"),
            sa.func.sum(sa.case((le, hi), else_=0)).label("hi_le"),
        ]
        parts.append(sa.select(*columns).select_from(hashed))
    if len(parts) == 1:
        return parts[0]
    return sa.union_all(*parts).subquery("__mx_fingerprints").select()


def appended_print_statement(
    backend: Backend, item: FingerprintedTable, after: datetime.datetime | None
) -> sa.Select[Any]:
    """``(rows, lo, hi, newest)`` of the table's rows written after ``after`` (all: None).

    The same row hash as :func:`fingerprint_statement`, so the sums add to a stored
    fingerprint's. Engines that keep min/max per block of the write time (DuckDB's zone maps,
    ClickHouse's parts) read only the blocks of the new rows.
    """
    fingerprint = backend.fingerprint
    assert fingerprint is not None
    after_mark = None if after is None else item.table.c[CREATED_AT] > after
    rows = _hashed_rows(backend, item, after_mark).subquery("__mx_appended")
    lo, hi = fingerprint.halves(rows.c.h)
    return sa.select(
        sa.func.count().label("rows"),
        sa.func.sum(lo).label("lo"),
        sa.func.sum(hi).label("hi"),
        sa.func.max(rows.c[CREATED_AT]).label("newest"),
    )


def touched_ids(
    keys: Sequence[str], sources: Sequence[tuple[sa.Table, datetime.datetime | None]]
) -> sa.Subquery:
    """The distinct ``keys`` of rows written after each table's watermark.

    Every table of ``sources`` has the columns ``keys`` (a parent of identity lineage has the
    child's id columns among its own id columns).
    """
    selects = [
        sa.select(*(table.c[k].label(k) for k in keys)).where(
            sa.true() if watermark is None else table.c[CREATED_AT] > watermark
        )
        for table, watermark in sources
    ]
    if len(selects) == 1:
        return selects[0].distinct().subquery("__mx_touched")
    return sa.union(*selects).subquery("__mx_touched")


def _among(
    backend: Backend, table: sa.FromClause, keys: Sequence[str], touched: sa.FromClause
) -> Any:
    """The rows of ``table`` whose ``keys`` are among the touched samples (a semi-join)."""
    fingerprint = backend.fingerprint
    if fingerprint is not None and fingerprint.semi_join_by_exists:
        return sa.exists().where(*(touched.c[k] == table.c[k] for k in keys))
    if len(keys) == 1:
        return table.c[keys[0]].in_(sa.select(touched.c[keys[0]]))
    return sa.tuple_(*(table.c[k] for k in keys)).in_(sa.select(*(touched.c[k] for k in keys)))


class RestrictedStatements(FeatureStatements):
    """A feature's statements over the touched samples only, optionally as of watermarks.

    Only :meth:`latest` differs: each base table is filtered to the rows of touched samples
    (and, with ``as_of``, to the rows written up to that table's watermark: the data the
    stored answer was computed on) before the latest-row window. Valid for identity lineage
    without filters, where a sample's expected and current rows depend only on that sample's
    rows in each table (``metaxy_orm.store.incremental`` checks it).
    """

    def __init__(
        self,
        base: FeatureStatements,
        touched: sa.FromClause,
        as_of: Mapping[str, datetime.datetime | None] | None = None,
    ) -> None:
        self.__dict__.update(base.__dict__)
        self.touched = touched
        self.as_of = as_of

    def latest(self, feature: type[Feature], columns: Sequence[str]) -> sa.Subquery:
        table = feature_table(feature)
        spec = feature.feature_spec()
        wanted = list(dict.fromkeys([*spec.id_columns, *columns]))
        conditions = [_among(self.backend, table, self.expected_ids, self.touched)]
        if self.as_of is not None:
            conditions.append(_up_to(table, self.as_of.get(table.name)))
        rows = sa.select(table).where(*conditions).subquery(f"__mx_rows_{table.name}")
        select = self.backend.latest_rows(rows, spec.id_columns, [rows.c[c] for c in wanted])
        return select.subquery(f"__mx_latest_{table.name}")


def count_samples_statement(
    backend: Backend,
    table: sa.Table,
    keys: Sequence[str],
    touched: sa.FromClause | None = None,
    watermark: datetime.datetime | None = None,
    *,
    as_of: bool = False,
) -> sa.Select[Any]:
    """How many distinct samples the table holds (among ``touched``; up to ``watermark``)."""
    conditions: list[Any] = []
    if touched is not None:
        conditions.append(_among(backend, table, keys, touched))
    if as_of:
        conditions.append(_up_to(table, watermark))
    ids = sa.select(*(table.c[k] for k in keys)).where(*conditions).distinct()
    return sa.select(sa.func.count()).select_from(ids.subquery("__mx_samples"))
