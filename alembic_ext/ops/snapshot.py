"""Graph-snapshot operations: ``record_graph_changes`` (what autogenerate writes),
``record_graph_snapshot`` (revisions written before), and their reverses.

As in Alembic, each operation is a class (constructor, user-facing classmethod, ``reverse()``,
``to_diff_tuple()``); its execution is a function of this module, and both are registered by
:mod:`alembic_ext.ops`. Its rendering into a revision file lives in :mod:`alembic_ext.render`.

The snapshot travels *in the revision file*, as a literal: upgrading records what the graph was
when the revision was generated, not what the code says today, so old revisions keep meaning
the same thing. A revision carries only what changed (the features added, changed or removed,
each whole) and the version of the whole snapshot it was written for (its fingerprint): the
upgrade applies the changes to the latest recorded snapshot, so that two branches that changed
different features compose, and merge only where they touched the same feature. Revisions
written before carry the whole snapshot (``record_graph_snapshot``), which still runs.

The SQL itself is the library's (:mod:`metaxy_orm.snapshots`), shared with ``mxo graph push``;
it is imported when an operation runs, because this module is loaded while
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
    "RecordGraphChangesOp",
    "RecordGraphSnapshotOp",
    "RemoveGraphSnapshotOp",
    "RevertGraphChangesOp",
    "record_graph_changes",
    "record_graph_snapshot",
    "remove_graph_snapshot",
    "revert_graph_changes",
]


class RecordGraphChangesOp(MigrateOperation):
    """Apply graph changes (feature key -> feature, or ``None``) to the latest snapshot and
    record the result; ``snapshot_version`` is the version the revision was written for."""

    def __init__(
        self,
        changes: Mapping[str, Mapping[str, Any] | None],
        *,
        snapshot_version: str,
        hash_truncation_length: int,
        diff: SnapshotDiff | None = None,
    ) -> None:
        self.changes = {key: None if f is None else dict(f) for key, f in changes.items()}
        self.snapshot_version = snapshot_version
        self.hash_truncation_length = hash_truncation_length
        #: What changed since the previous snapshot; autogenerate renders it as comments.
        self.diff = diff

    @property
    def feature_versions(self) -> dict[str, str | None]:
        """Key -> the feature version the changes give it (``None``: removed)."""
        return {
            key: None if feature is None else str(feature["feature_version"])
            for key, feature in self.changes.items()
        }

    @classmethod
    def record_graph_changes(
        cls,
        operations: Operations,
        changes: Mapping[str, Mapping[str, Any] | None],
        *,
        snapshot_version: str,
        hash_truncation_length: int,
    ) -> None:
        """Apply these changes to the latest graph snapshot and record the result."""
        operations.invoke(
            cls(
                changes,
                snapshot_version=snapshot_version,
                hash_truncation_length=hash_truncation_length,
            )
        )

    def reverse(self) -> RevertGraphChangesOp:
        return RevertGraphChangesOp(
            self.feature_versions, snapshot_version=self.snapshot_version, _reverse=self
        )

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("record_graph_changes", self.snapshot_version, tuple(self.changes))


class RevertGraphChangesOp(MigrateOperation):
    """Remove the recording that :class:`RecordGraphChangesOp` made (the reverse of it)."""

    def __init__(
        self,
        feature_versions: Mapping[str, str | None],
        *,
        snapshot_version: str,
        _reverse: RecordGraphChangesOp | None = None,
    ) -> None:
        self.feature_versions = dict(feature_versions)
        self.snapshot_version = snapshot_version
        self._reverse = _reverse

    @classmethod
    def revert_graph_changes(
        cls,
        operations: Operations,
        feature_versions: Mapping[str, str | None],
        *,
        snapshot_version: str,
    ) -> None:
        """Remove the latest recording if these changes made it."""
        operations.invoke(cls(feature_versions, snapshot_version=snapshot_version))

    def reverse(self) -> RecordGraphChangesOp:
        if self._reverse is None:
            from metaxy_orm.exceptions import MigrationError

            raise MigrationError(
                f"reverting graph changes {self.snapshot_version} is not reversible: the "
                "features' content is not known to this operation"
            )
        return self._reverse

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("revert_graph_changes", self.snapshot_version)


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


def record_graph_changes(operations: Operations, operation: RecordGraphChangesOp) -> None:
    from alembic_ext.options import log
    from metaxy_orm import snapshots

    if operations.migration_context.as_sql:  # a SQL script: one statement, no check possible
        operations.execute(
            snapshots.record_changes_statement(
                operation.changes,
                snapshot_version=operation.snapshot_version,
                hash_truncation_length=operation.hash_truncation_length,
            )
        )
        return
    recorded = snapshots.record_changes(
        operations.get_bind(),
        operation.changes,
        hash_truncation_length=operation.hash_truncation_length,
    )
    if recorded["snapshot_version"] != operation.snapshot_version:
        log.info(
            "graph snapshot %s recorded: this revision's changes (%s) applied to the latest "
            "recorded snapshot, which holds changes of another branch; the revision alone "
            "gives %s",
            recorded["snapshot_version"],
            ", ".join(operation.changes),
            operation.snapshot_version,
        )


def revert_graph_changes(operations: Operations, operation: RevertGraphChangesOp) -> None:
    from alembic_ext.options import log
    from metaxy_orm import snapshots

    if operations.migration_context.as_sql:
        operations.execute(snapshots.remove_snapshot_statement(operation.snapshot_version))
    elif not snapshots.revert_changes(operations.get_bind(), operation.feature_versions):
        log.warning(
            "graph snapshot: the latest recording is not the one this revision made (%s), so "
            "none is removed",
            ", ".join(f"{k}={v}" for k, v in operation.feature_versions.items()),
        )
