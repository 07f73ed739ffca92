"""Graph snapshots: what the feature graph looked like, recorded in the database.

A snapshot lists every feature with its feature version, its field versions and its spec, so
that a later process can tell what changed in the code since (:func:`diff_snapshots`), and which
feature versions the stored rows were written under. Alembic revisions record one whenever the
graph changes (``alembic_ext``); ``mxo graph push`` records one without Alembic.

Three modules, so that each user imports only what it needs:

- :mod:`~metaxy_orm.snapshots.model`: the snapshot itself (:class:`GraphSnapshot`, what
  ``FeatureGraph.snapshot()`` returns), pure Python;
- :mod:`~metaxy_orm.snapshots.diff`: what changed between two snapshots, pure Python (a CLI or
  a dashboard computes it without SQL);
- :mod:`~metaxy_orm.snapshots.table`: the table, and recording, reading and removing snapshots.
"""

from metaxy_orm.exceptions import SnapshotError as SnapshotError
from metaxy_orm.snapshots.diff import FeatureChange as FeatureChange
from metaxy_orm.snapshots.diff import FieldChange as FieldChange
from metaxy_orm.snapshots.diff import SnapshotDiff as SnapshotDiff
from metaxy_orm.snapshots.diff import diff_snapshots as diff_snapshots
from metaxy_orm.snapshots.model import FeatureSnapshot as FeatureSnapshot
from metaxy_orm.snapshots.model import GraphChanges as GraphChanges
from metaxy_orm.snapshots.model import GraphSnapshot as GraphSnapshot
from metaxy_orm.snapshots.model import SnapshotRecording as SnapshotRecording
from metaxy_orm.snapshots.model import apply_changes as apply_changes
from metaxy_orm.snapshots.model import graph_snapshot as graph_snapshot
from metaxy_orm.snapshots.model import parse_changes as parse_changes
from metaxy_orm.snapshots.model import parse_snapshot as parse_snapshot
from metaxy_orm.snapshots.model import snapshot_changes as snapshot_changes
from metaxy_orm.snapshots.model import snapshot_fingerprint as snapshot_fingerprint
from metaxy_orm.snapshots.model import snapshots_equal as snapshots_equal
from metaxy_orm.snapshots.table import SNAPSHOTS_TABLE as SNAPSHOTS_TABLE
from metaxy_orm.snapshots.table import create_snapshots_table as create_snapshots_table
from metaxy_orm.snapshots.table import latest_snapshot as latest_snapshot
from metaxy_orm.snapshots.table import load_snapshot as load_snapshot
from metaxy_orm.snapshots.table import metadata as metadata
from metaxy_orm.snapshots.table import record_changes as record_changes
from metaxy_orm.snapshots.table import record_changes_statement as record_changes_statement
from metaxy_orm.snapshots.table import record_snapshot as record_snapshot
from metaxy_orm.snapshots.table import record_snapshot_statement as record_snapshot_statement
from metaxy_orm.snapshots.table import remove_snapshot as remove_snapshot
from metaxy_orm.snapshots.table import remove_snapshot_statement as remove_snapshot_statement
from metaxy_orm.snapshots.table import revert_changes as revert_changes
from metaxy_orm.snapshots.table import snapshot_history as snapshot_history
from metaxy_orm.snapshots.table import snapshots_table as snapshots_table

__all__ = [
    "SNAPSHOTS_TABLE",
    "FeatureChange",
    "FeatureSnapshot",
    "FieldChange",
    "GraphChanges",
    "GraphSnapshot",
    "SnapshotDiff",
    "SnapshotError",
    "SnapshotRecording",
    "apply_changes",
    "create_snapshots_table",
    "diff_snapshots",
    "graph_snapshot",
    "latest_snapshot",
    "load_snapshot",
    "metadata",
    "parse_changes",
    "parse_snapshot",
    "record_changes",
    "record_changes_statement",
    "record_snapshot",
    "record_snapshot_statement",
    "remove_snapshot",
    "remove_snapshot_statement",
    "revert_changes",
    "snapshot_changes",
    "snapshot_fingerprint",
    "snapshot_history",
    "snapshots_equal",
    "snapshots_table",
]
