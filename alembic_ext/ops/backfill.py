"""Backfill a feature from another table or a query: ``backfill_feature``.

For rows computed outside metaxy-orm (a legacy table, an import, a one-off job): each sample of
the source that the feature lacks, or holds stale, becomes a row with the source's columns and
the provenance computed in the database from the feature's parents (:meth:`MetadataStore.backfill
<metaxy_orm.store.MetadataStore.backfill>`, one ``INSERT ... SELECT``). Samples the feature holds
up to date are skipped, so running it again writes nothing; samples without parents are skipped
too (their provenance cannot be computed). For a root feature the source must carry the
``metaxy_provenance__<field>`` columns. Rows are tagged with the revision id, and the reverse,
``delete_materialization``, deletes them.

Autogenerate never proposes a backfill: write it in a revision by hand::

    def upgrade() -> None:
        mxop.backfill_feature("crop", "legacy_crop", materialization_id=revision)


    def downgrade() -> None:
        mxop.delete_materialization("crop", materialization_id=revision)

``source`` is one of:

- a table or view name (``"legacy_crop"``, ``"archive.legacy_crop"``): its columns are read when
  the revision runs; columns named like the feature's (id columns, user columns,
  ``metaxy_data_version__<field>``) are copied, others are ignored;
- ``sa.text("SELECT ...")``: a query in the database's own SQL (columns read when it runs);
- a SQLAlchemy selectable: ``sa.table("legacy", sa.column("sample_uid"), ...)``,
  ``sa.select(...)``, or ``sa.text(...).columns(...)``. In an offline script (``--sql``) the
  columns cannot be read from the database, so the source must be one of these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
from alembic.operations import Operations
from alembic.util import CommandError

from alembic_ext.ops.base import DataRun, FeatureDataOp, offline_created_at
from alembic_ext.ops.materialization import DeleteMaterializationOp

if TYPE_CHECKING:
    from metaxy_orm._sql.statements import FeatureStatements
    from metaxy_orm.feature import Feature
    from metaxy_orm.store import MetadataStore

__all__ = ["BackfillFeatureOp", "BackfillSource"]

#: What ``backfill_feature`` reads from.
BackfillSource = str | sa.TextClause | sa.TextualSelect | sa.FromClause | sa.Select[Any]
_SOURCE_TYPES = (str, sa.TextClause, sa.TextualSelect, sa.FromClause, sa.Select)

_PROBE = "__mx_probe"


class BackfillFeatureOp(FeatureDataOp):
    """Insert a feature's missing or stale samples from a table or query, provenance computed.

    ``materialization_id=None`` stands for the revision's own id when the operation is written
    into a revision file (``materialization_id=revision``).
    """

    name: ClassVar[str] = "backfill_feature"
    hashes: ClassVar[bool] = True
    tags_rows: ClassVar[bool] = True

    def __init__(
        self, feature: str, source: BackfillSource, *, materialization_id: str | None
    ) -> None:
        if not isinstance(source, _SOURCE_TYPES):
            from metaxy_orm.exceptions import MigrationArgumentError

            raise MigrationArgumentError(
                "backfill_feature: source must be a table name, sa.text('SELECT ...') or a "
                f"SQLAlchemy table or select, got {type(source).__name__}"
            )
        self.feature = str(feature)
        self.source = source
        self.materialization_id = materialization_id

    @classmethod
    def backfill_feature(
        cls,
        operations: Operations,
        feature: str,
        source: BackfillSource,
        *,
        materialization_id: str,
    ) -> int:
        """Insert the samples of ``source`` that ``feature`` lacks or holds stale.

        ``source``: a table or view name, ``sa.text("SELECT ...")``, or a SQLAlchemy table or
        select. Its id columns and the feature's own columns (by name) are copied; provenance
        is computed from the feature's parents. Rows are tagged with ``materialization_id``
        (``revision`` in a revision file), which ``delete_materialization`` uses to undo
        this. Returns the number of rows written; a second run writes nothing.
        """
        op = cls(feature, source, materialization_id=materialization_id)
        return int(operations.invoke(op))

    def reverse(self) -> DeleteMaterializationOp:
        return DeleteMaterializationOp(
            [self.feature], materialization_id=self.materialization_id, _reverse=self
        )

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("backfill_feature", self.feature, self.materialization_id)

    # -- how it runs ------------------------------------------------------------------------

    def keys(self) -> list[str]:
        return [self.feature]

    def label(self, feature: str) -> str:
        return f"backfill {feature}"

    def online(self, run: DataRun, store: MetadataStore, feature: type[Feature]) -> int:
        source = _resolved(run.operations, self.source, self.label(self.feature))
        return store.backfill(feature, source, materialization_id=run.tag)

    def offline(self, run: DataRun, plan: FeatureStatements) -> sa.Insert:
        from metaxy_orm._sql.data_ops import backfill_statement

        return backfill_statement(
            plan,
            _resolved(run.operations, self.source, self.label(self.feature)),
            snapshot_version=plan.snapshot_version,
            materialization_id=run.tag,
            created_at=offline_created_at(plan),
        )


def _named_table(name: str) -> sa.TableClause:
    schema, _, table = name.rpartition(".")
    return sa.table(table, schema=schema or None)


def _with_columns(connection: sa.Connection, source: sa.TableClause | sa.TextClause) -> Any:
    """The source with its columns, read from the database (a query that returns no row)."""
    if isinstance(source, sa.TableClause):
        inner: sa.FromClause = source
    else:
        inner = source.columns().subquery(_PROBE)
    probe: sa.Select[Any] = sa.select(sa.literal_column("*")).select_from(inner).limit(0)
    names = list(connection.execute(probe).keys())
    columns: list[sa.ColumnClause[Any]] = [sa.column(name) for name in names]
    if isinstance(source, sa.TableClause):
        return sa.table(source.name, *columns, schema=source.schema)
    return source.columns(*columns)


def _resolved(operations: Operations, source: BackfillSource, what: str) -> Any:
    """The source as the store wants it: a table or select whose columns are known."""
    if isinstance(source, str | sa.TextClause):
        if operations.migration_context.as_sql:
            raise CommandError(
                f"{what}: an offline script cannot read the columns of {source!r}: give them, "
                "as sa.table('name', sa.column('sample_uid'), ...) or "
                "sa.text('SELECT ...').columns(sa.column('sample_uid'), ...)"
            )
        named = _named_table(source) if isinstance(source, str) else source
        try:
            source = _with_columns(operations.get_bind(), named)
        except sa.exc.DBAPIError as exc:
            raise CommandError(f"{what}: cannot read the source: {exc.orig}") from exc
    if isinstance(source, sa.TextualSelect):
        return source.subquery("__mx_source")
    return source
