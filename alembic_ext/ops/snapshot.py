"""Graph-snapshot operations: ``record_graph_snapshot`` and its reverse.

As in Alembic, each operation is a class (constructor, user-facing classmethod, ``reverse()``,
``to_diff_tuple()``); its execution is a function of this module, and both are registered by
:mod:`alembic_ext.ops`. Its rendering into a revision file lives in :mod:`alembic_ext.render`.

The snapshot travels *in the revision file*, as a literal: upgrading records what the graph was
when the revision was generated, not what the code says today, so old revisions keep meaning
the same thing. The SQL itself is the library's (:mod:`metaxy_orm.snapshots`), shared with
``mxo graph push``; it is imported when an operation runs, because this module is loaded while
Alembic is being imported and must stay cheap. Online, recording checks the latest snapshot
first (re-running writes nothing); in offline ``--sql`` mode nothing can be read, so the script
gets one ``INSERT ... SELECT`` that numbers the recording in SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from alembic.operations import MigrateOperation, Operations

if TYPE_CHECKING:
    from metaxy_orm.snapshots import SnapshotDiff

__all__ = [
    "RecordGraphSnapshotOp",
    "RemoveGraphSnapshotOp",
    "record_graph_snapshot",
    "remove_graph_snapshot",
]


class RecordGraphSnapshotOp(MigrateOperation):
    """Record a graph snapshot (a ``GraphSnapshot`` literal) unless it is already the latest."""

    def __init__(self, snapshot: Mapping[str, Any], *, diff: SnapshotDiff | None = None) -> None:
        self.snapshot = dict(snapshot)
        #: What changed since the previous snapshot; autogenerate renders it as comments.
        self.diff = diff

    @property
    def snapshot_version(self) -> str:
        return str(self.snapshot["snapshot_version"])

    @classmethod
    def record_graph_snapshot(cls, operations: Operations, snapshot: Mapping[str, Any]) -> None:
        """Record this graph snapshot in ``metaxy_graph_snapshots``.

        Re-running it writes nothing while it is the latest snapshot recorded.
        """
        operations.invoke(cls(snapshot))

    def reverse(self) -> RemoveGraphSnapshotOp:
        return RemoveGraphSnapshotOp(self.snapshot_version, _reverse=self)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("record_graph_snapshot", self.snapshot_version)


class RemoveGraphSnapshotOp(MigrateOperation):
    """Remove the most recent recording of a graph snapshot (the reverse of recording it)."""

    def __init__(
        self, snapshot_version: str, *, _reverse: RecordGraphSnapshotOp | None = None
    ) -> None:
        self.snapshot_version = snapshot_version
        self._reverse = _reverse

    @classmethod
    def remove_graph_snapshot(cls, operations: Operations, snapshot_version: str) -> None:
        """Delete the most recent recording of this snapshot version, if there is one."""
        operations.invoke(cls(snapshot_version))

    def reverse(self) -> RecordGraphSnapshotOp:
        if self._reverse is None:
            from metaxy_orm.exceptions import MigrationError

            raise MigrationError(
                f"removing graph snapshot {self.snapshot_version} is not reversible: the "
                "snapshot's content is not known to this operation"
            )
        return self._reverse

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("remove_graph_snapshot", self.snapshot_version)


def record_graph_snapshot(operations: Operations, operation: RecordGraphSnapshotOp) -> None:
    from metaxy_orm import snapshots

    if operations.migration_context.as_sql:  # a SQL script: one statement, no check possible
        operations.execute(snapshots.record_snapshot_statement(operation.snapshot))
    else:
        snapshots.record_snapshot(operations.get_bind(), operation.snapshot)


def remove_graph_snapshot(operations: Operations, operation: RemoveGraphSnapshotOp) -> None:
    from metaxy_orm import snapshots

    if operations.migration_context.as_sql:
        operations.execute(snapshots.remove_snapshot_statement(operation.snapshot_version))
    else:
        snapshots.remove_snapshot(operations.get_bind(), operation.snapshot_version)
