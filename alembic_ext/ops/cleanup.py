"""Clean up a feature's history: ``cleanup_feature`` and its reverse, which cannot undo it.

Metadata is append-only: every recomputation, reconcile or backfill adds a row per sample and
keeps the older ones. ``cleanup_feature("crop", keep_last=1)`` deletes every row that is not
among the ``keep_last`` newest of its sample (:meth:`MetadataStore.cleanup
<metaxy_orm.store.MetadataStore.cleanup>`, one ``DELETE``): ``keep_last=1`` keeps only the latest
row per sample, ``keep_last=3`` keeps the three latest versions of each sample (history
retention). The latest rows are never touched, so what ``resolve_update`` answers does not
change. Running it again deletes nothing.

Deleted rows cannot be brought back, so the reverse operation, ``op.cannot_undo_cleanup``,
raises an error that stops the downgrade, saying so. Why not let a downgrade pass silently?
Downgrading further, past a reconcile or backfill, deletes the rows *it* wrote, and the older
rows that used to take their place are the ones the cleanup deleted: those samples would be left
with no row at all, without a word. If you accept that, pass ``downgrade_anyway=True``: the
downgrade then goes on, with a warning. Autogenerate never proposes a cleanup; write it by hand::

    def upgrade() -> None:
        mxop.cleanup_feature("crop", keep_last=1)


    def downgrade() -> None:
        mxop.cannot_undo_cleanup("crop", keep_last=1)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from alembic.operations import MigrateOperation, Operations
from alembic.util import CommandError

from alembic_ext.ops.base import DataRun, FeatureDataOp
from alembic_ext.options import log

if TYPE_CHECKING:
    import sqlalchemy as sa

    from metaxy_orm._sql.statements import FeatureStatements
    from metaxy_orm.feature import Feature
    from metaxy_orm.store import MetadataStore

__all__ = ["CannotUndoCleanupOp", "CleanupFeatureOp", "cannot_undo_cleanup"]


def _checked_keep_last(keep_last: object) -> int:
    if isinstance(keep_last, bool) or not isinstance(keep_last, int) or keep_last < 1:
        from metaxy_orm.exceptions import MigrationError

        raise MigrationError(f"keep_last must be a positive integer, got {keep_last!r}")
    return keep_last


class CleanupFeatureOp(FeatureDataOp):
    """Delete a feature's rows that are not among the ``keep_last`` newest of their sample."""

    name: ClassVar[str] = "cleanup_feature"
    counts: ClassVar[str] = "deleted"

    def __init__(self, feature: str, *, keep_last: int = 1) -> None:
        self.feature = str(feature)
        self.keep_last = _checked_keep_last(keep_last)

    @classmethod
    def cleanup_feature(cls, operations: Operations, feature: str, *, keep_last: int = 1) -> int:
        """Delete the rows of ``feature`` that are not among the ``keep_last`` newest per sample.

        This cannot be undone (see ``cannot_undo_cleanup``). Returns the number of rows
        deleted; a second run deletes nothing.
        """
        return int(operations.invoke(cls(feature, keep_last=keep_last)))

    def reverse(self) -> CannotUndoCleanupOp:
        return CannotUndoCleanupOp(self.feature, keep_last=self.keep_last)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("cleanup_feature", self.feature, self.keep_last)

    # -- how it runs ------------------------------------------------------------------------

    def keys(self) -> list[str]:
        return [self.feature]

    def label(self, feature: str) -> str:
        return f"cleanup {feature} (keep_last={self.keep_last})"

    def online(self, run: DataRun, store: MetadataStore, feature: type[Feature]) -> int:
        return store.cleanup(feature, keep_last=self.keep_last)

    def offline(self, run: DataRun, plan: FeatureStatements) -> sa.Delete:
        from metaxy_orm._sql.data_ops import cleanup_statement

        return cleanup_statement(plan, keep_last=self.keep_last)


class CannotUndoCleanupOp(MigrateOperation):
    """The downgrade of a cleanup: an error, unless ``downgrade_anyway=True`` (then a warning)."""

    def __init__(self, feature: str, *, keep_last: int = 1, downgrade_anyway: bool = False) -> None:
        self.feature = str(feature)
        self.keep_last = _checked_keep_last(keep_last)
        self.downgrade_anyway = bool(downgrade_anyway)

    @classmethod
    def cannot_undo_cleanup(
        cls,
        operations: Operations,
        feature: str,
        *,
        keep_last: int = 1,
        downgrade_anyway: bool = False,
    ) -> None:
        """Stop the downgrade: the rows ``cleanup_feature`` deleted cannot be restored.

        With ``downgrade_anyway=True`` the downgrade goes on without them, with a warning.
        """
        op = cls(feature, keep_last=keep_last, downgrade_anyway=downgrade_anyway)
        operations.invoke(op)

    def reverse(self) -> CleanupFeatureOp:
        return CleanupFeatureOp(self.feature, keep_last=self.keep_last)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("cannot_undo_cleanup", self.feature, self.keep_last)


def cannot_undo_cleanup(operations: Operations, operation: CannotUndoCleanupOp) -> None:
    """The implementation of :class:`CannotUndoCleanupOp`: no statement, an error or a warning."""
    call = f"cleanup_feature({operation.feature!r}, keep_last={operation.keep_last})"
    if operation.downgrade_anyway:
        log.warning("%s is not undone: the rows it deleted are gone (downgrade_anyway=True)", call)
        return
    raise CommandError(
        f"cannot downgrade: {call} cannot be undone, the rows it deleted are gone. Downgrading "
        "past it would also leave samples without any row once an earlier reconcile or "
        "backfill is undone. To downgrade anyway, edit this revision's downgrade(): "
        f"mxop.cannot_undo_cleanup({operation.feature!r}, keep_last={operation.keep_last}, "
        "downgrade_anyway=True)"
    )
