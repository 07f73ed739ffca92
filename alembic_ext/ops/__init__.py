"""metaxy-orm's Alembic operations, one module each, registered here and only here.

As Alembic's ``autogenerate/compare/__init__.py`` sets up its comparators from one place, this
module registers every operation with Alembic's own registries when it is imported:
``Operations.register_operation`` (which gives ``op.<name>``) and
``Operations.implementation_for`` (what runs). The data operations share one implementation,
:func:`~alembic_ext.ops.base.run_feature_data_op`, which each of their classes configures.

The modules import Alembic's ``operations`` package, no more, and metaxy-orm only when an
operation runs: the plugin entry point imports this package while Alembic itself is being
imported. Revision files call the operations through :mod:`alembic_ext.op` (typed) or, untyped,
through Alembic's ``op``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alembic.operations import MigrateOperation, Operations

from alembic_ext.ops.backfill import BackfillFeatureOp as BackfillFeatureOp
from alembic_ext.ops.base import FeatureDataOp as FeatureDataOp
from alembic_ext.ops.base import run_feature_data_op
from alembic_ext.ops.cleanup import CannotUndoCleanupOp as CannotUndoCleanupOp
from alembic_ext.ops.cleanup import CleanupFeatureOp as CleanupFeatureOp
from alembic_ext.ops.cleanup import cannot_undo_cleanup
from alembic_ext.ops.materialization import DeleteMaterializationOp as DeleteMaterializationOp
from alembic_ext.ops.proposal import CommentedOutOp as CommentedOutOp
from alembic_ext.ops.reconcile import ReconcileFeaturesOp as ReconcileFeaturesOp
from alembic_ext.ops.snapshot import RecordGraphChangesOp as RecordGraphChangesOp
from alembic_ext.ops.snapshot import RecordGraphSnapshotOp as RecordGraphSnapshotOp
from alembic_ext.ops.snapshot import RemoveGraphSnapshotOp as RemoveGraphSnapshotOp
from alembic_ext.ops.snapshot import RevertGraphChangesOp as RevertGraphChangesOp
from alembic_ext.ops.snapshot import (
    record_graph_changes,
    record_graph_snapshot,
    remove_graph_snapshot,
    revert_graph_changes,
)

__all__ = [
    "DATA_OPERATIONS",
    "OPERATIONS",
    "BackfillFeatureOp",
    "CannotUndoCleanupOp",
    "CleanupFeatureOp",
    "CommentedOutOp",
    "DeleteMaterializationOp",
    "FeatureDataOp",
    "ReconcileFeaturesOp",
    "RecordGraphChangesOp",
    "RecordGraphSnapshotOp",
    "RemoveGraphSnapshotOp",
    "RevertGraphChangesOp",
]

#: The data operations: one implementation, configured by each class.
DATA_OPERATIONS: tuple[type[FeatureDataOp], ...] = (
    ReconcileFeaturesOp,
    BackfillFeatureOp,
    CleanupFeatureOp,
    DeleteMaterializationOp,
)

#: Every operation, by its name in ``op.<name>``, with its implementation.
OPERATIONS: dict[str, tuple[type[MigrateOperation], Callable[[Operations, Any], object]]] = {
    "record_graph_changes": (RecordGraphChangesOp, record_graph_changes),
    "revert_graph_changes": (RevertGraphChangesOp, revert_graph_changes),
    "record_graph_snapshot": (RecordGraphSnapshotOp, record_graph_snapshot),
    "remove_graph_snapshot": (RemoveGraphSnapshotOp, remove_graph_snapshot),
    **{op.name: (op, run_feature_data_op) for op in DATA_OPERATIONS},
    "cannot_undo_cleanup": (CannotUndoCleanupOp, cannot_undo_cleanup),
}


def _register() -> None:
    """Register every operation with Alembic (``op.<name>``) and its implementation."""
    for name, (operation, implementation) in OPERATIONS.items():
        Operations.register_operation(name)(operation)
        Operations.implementation_for(operation)(implementation)


_register()
