"""metaxy-orm's operations for revision files, typed: ``from alembic_ext import op as mxop``.

Alembic adds registered operations to its ``op`` proxy at run time, so ``op.reconcile_features``
works in a revision but no type checker can know it: Alembic's ``op`` stub lists its own
operations only. These functions have the same signatures and run the same registered
operations (through ``op.invoke``, Alembic's documented way to run an operation object), so a
revision that calls ``mxop.reconcile_features(...)`` type-checks under ``mypy --strict``.
Autogenerate writes them this way; ``op.<name>`` keeps working in revisions written before.

Like Alembic's ``op``, they only work while a migration runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from alembic import op

from alembic_ext.ops import (
    BackfillFeatureOp,
    CannotUndoCleanupOp,
    CleanupFeatureOp,
    DeleteMaterializationOp,
    ReconcileFeaturesOp,
    RecordGraphChangesOp,
    RecordGraphSnapshotOp,
    RemoveGraphSnapshotOp,
    RevertGraphChangesOp,
)
from alembic_ext.ops.backfill import BackfillSource
from alembic_ext.ops.reconcile import Features

__all__ = [
    "backfill_feature",
    "cannot_undo_cleanup",
    "cleanup_feature",
    "delete_materialization",
    "reconcile_features",
    "record_graph_changes",
    "record_graph_snapshot",
    "remove_graph_snapshot",
    "revert_graph_changes",
]


def record_graph_changes(
    changes: Mapping[str, Mapping[str, Any] | None],
    *,
    snapshot_version: str,
    hash_truncation_length: int,
) -> None:
    """Apply a revision's graph changes to the latest recorded snapshot and record the result.

    ``changes``: feature key -> the feature as the revision's code defines it
    (``feature_version``, ``field_versions``, ``spec``), or ``None`` for a removed feature;
    features it does not name stay as recorded, so branches that changed different features
    compose. ``snapshot_version``: the version of the whole snapshot the revision was written
    for (logged when the result differs, after another branch's changes). Re-running writes
    nothing while the result is the latest snapshot.
    """
    op.invoke(
        RecordGraphChangesOp(
            changes,
            snapshot_version=snapshot_version,
            hash_truncation_length=hash_truncation_length,
        )
    )


def revert_graph_changes(
    feature_versions: Mapping[str, str | None], *, snapshot_version: str
) -> None:
    """Undo :func:`record_graph_changes`: remove the latest recording if those changes made it.

    ``feature_versions``: key -> the feature version the changes gave it (``None``: removed).
    """
    op.invoke(RevertGraphChangesOp(feature_versions, snapshot_version=snapshot_version))


def record_graph_snapshot(snapshot: Mapping[str, Any]) -> None:
    """Record this graph snapshot in ``metaxy_graph_snapshots``.

    Re-running it writes nothing while it is the latest snapshot recorded.
    """
    op.invoke(RecordGraphSnapshotOp(snapshot))


def remove_graph_snapshot(snapshot_version: str) -> None:
    """Delete the most recent recording of this snapshot version, if there is one."""
    op.invoke(RemoveGraphSnapshotOp(snapshot_version))


def reconcile_features(features: Features, *, materialization_id: str) -> int:
    """Reconcile features onto their current versions, without recomputing them.

    ``features``: ``{"crop": "<feature version>", ...}`` as autogenerate writes it (a feature
    whose code defines another version is skipped with a warning), or a list of keys. Rows are
    tagged with ``materialization_id`` (``revision`` in a revision file), which
    :func:`delete_materialization` uses to undo this. Returns the number of rows written.
    """
    return int(op.invoke(ReconcileFeaturesOp(features, materialization_id=materialization_id)))


def backfill_feature(feature: str, source: BackfillSource, *, materialization_id: str) -> int:
    """Insert the samples of ``source`` that ``feature`` lacks or holds stale.

    ``source``: a table or view name, ``sa.text("SELECT ...")``, or a SQLAlchemy table or
    select. Rows are tagged with ``materialization_id`` (``revision`` in a revision file).
    Returns the number of rows written; a second run writes nothing.
    """
    operation = BackfillFeatureOp(feature, source, materialization_id=materialization_id)
    return int(op.invoke(operation))


def cleanup_feature(feature: str, *, keep_last: int = 1) -> int:
    """Delete the rows of ``feature`` that are not among the ``keep_last`` newest per sample.

    This cannot be undone (see :func:`cannot_undo_cleanup`). Returns the number of rows deleted.
    """
    return int(op.invoke(CleanupFeatureOp(feature, keep_last=keep_last)))


def cannot_undo_cleanup(
    feature: str, *, keep_last: int = 1, downgrade_anyway: bool = False
) -> None:
    """Stop the downgrade: the rows :func:`cleanup_feature` deleted cannot be restored.

    With ``downgrade_anyway=True`` the downgrade goes on without them, with a warning.
    """
    op.invoke(CannotUndoCleanupOp(feature, keep_last=keep_last, downgrade_anyway=downgrade_anyway))


def delete_materialization(features: str | Sequence[str], *, materialization_id: str) -> int:
    """Delete the rows of these features tagged with ``materialization_id``.

    This undoes :func:`reconcile_features` and :func:`backfill_feature`. Returns the number of
    rows deleted; a second run deletes nothing.
    """
    operation = DeleteMaterializationOp(features, materialization_id=materialization_id)
    return int(op.invoke(operation))
