"""Undo a reconcile or a backfill: ``delete_materialization``.

Reconcile and backfill tag the rows they write with a materialization id (the revision id in
revision files); this operation deletes the rows carrying it, downstream features first
(:meth:`MetadataStore.delete_materialization
<metaxy_orm.store.MetadataStore.delete_materialization>`, one ``DELETE`` per feature). Metadata is
append-only, so the rows that were the latest before the upgrade are the latest again. Running it
again deletes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from alembic.operations import MigrateOperation, Operations

from alembic_ext.ops.base import DataRun, FeatureDataOp, feature_keys

if TYPE_CHECKING:
    import sqlalchemy as sa

    from metaxy_orm._sql.statements import FeatureStatements
    from metaxy_orm.feature import Feature
    from metaxy_orm.store import MetadataStore

__all__ = ["DeleteMaterializationOp"]


class DeleteMaterializationOp(FeatureDataOp):
    """Delete the rows that one materialization (a reconcile or backfill) wrote into features.

    The reverse of :class:`~alembic_ext.ops.reconcile.ReconcileFeaturesOp` and
    :class:`~alembic_ext.ops.backfill.BackfillFeatureOp`. ``materialization_id=None`` stands for
    the revision's own id when the operation is written into a revision file.
    """

    name: ClassVar[str] = "delete_materialization"
    counts: ClassVar[str] = "deleted"
    tags_rows: ClassVar[bool] = True
    downstream_first: ClassVar[bool] = True

    def __init__(
        self,
        features: str | Sequence[str],
        *,
        materialization_id: str | None,
        _reverse: MigrateOperation | None = None,
    ) -> None:
        self.features = feature_keys(features)
        self.materialization_id = materialization_id
        self._reverse = _reverse

    @classmethod
    def delete_materialization(
        cls, operations: Operations, features: str | Sequence[str], *, materialization_id: str
    ) -> int:
        """Delete the rows of these features tagged with ``materialization_id``.

        This undoes ``reconcile_features`` and ``backfill_feature``: the rows that were the
        latest before them are the latest again. Returns the number of rows deleted; a second
        run deletes nothing.
        """
        return int(operations.invoke(cls(features, materialization_id=materialization_id)))

    def reverse(self) -> MigrateOperation:
        if self._reverse is None:
            from metaxy_orm.exceptions import MigrationError

            raise MigrationError(
                "deleting a materialization is not reversible: the rows are gone, and this "
                "operation does not know how they were computed"
            )
        return self._reverse

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("delete_materialization", tuple(self.features), self.materialization_id)

    # -- how it runs ------------------------------------------------------------------------

    def keys(self) -> list[str]:
        return list(self.features)

    def label(self, feature: str) -> str:
        return f"delete materialization {self.materialization_id} of {feature}"

    def online(self, run: DataRun, store: MetadataStore, feature: type[Feature]) -> int:
        return store.delete_materialization(feature, run.tag)

    def offline(self, run: DataRun, plan: FeatureStatements) -> sa.Delete:
        from metaxy_orm._sql.data_ops import undo_statement

        return undo_statement(plan, run.tag)
