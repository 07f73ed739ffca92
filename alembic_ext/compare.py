"""The autogenerate comparator for graph snapshots.

It compares the code's feature graph (the graph given to :func:`alembic_ext.configure`, else
the active one) with the latest snapshot recorded in the database and, when they differ, emits
:class:`~alembic_ext.snapshot_ops.RecordGraphSnapshotOp` carrying the new snapshot and what
changed. The first time, it also emits the ``CREATE TABLE`` of ``metaxy_graph_snapshots``, so
the table appears (and disappears on downgrade) with the revision that first needs it.

The table is not in the user's ``target_metadata``, so Alembic's table comparator proposes to
drop it on every later autogenerate. Alembic skips its own version table the same way we skip
ours here: this comparator runs after the table comparator (priority ``LAST``) and takes back
that one ``DropTableOp``, so that neither ``env.py`` nor an ``include_object`` hook has to know
about the table.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from alembic.operations import ops
from alembic.util import CommandError, PriorityDispatchResult

import alembic_ext.render  # noqa: F401 - registers the renderers of our operations
from alembic_ext.plugin import GRAPH_OPTION
from alembic_ext.snapshot_ops import RecordGraphSnapshotOp
from metaxy_orm.graph import FeatureGraph
from metaxy_orm.snapshots import (
    SNAPSHOTS_TABLE,
    diff_snapshots,
    graph_snapshot,
    latest_snapshot,
    snapshots_equal,
    snapshots_table,
)

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext
    from alembic.operations.ops import UpgradeOps

__all__ = ["compare_graph_snapshot"]

log = logging.getLogger(__name__)


def _is_snapshots_table(op: ops.MigrateOperation, cls: type[ops.MigrateOperation]) -> bool:
    return (
        isinstance(op, cls)
        and getattr(op, "table_name", None) == SNAPSHOTS_TABLE
        and getattr(op, "schema", None) is None
    )


def _code_graph(autogen_context: AutogenContext) -> FeatureGraph:
    graph = autogen_context.opts.get(GRAPH_OPTION)
    if graph is None:
        return FeatureGraph.get_active()
    if not isinstance(graph, FeatureGraph):
        raise CommandError(
            f"context option {GRAPH_OPTION!r} must be a metaxy_orm.FeatureGraph, "
            f"got {type(graph).__name__}"
        )
    return graph


def compare_graph_snapshot(
    autogen_context: AutogenContext, upgrade_ops: UpgradeOps, schemas: set[str | None]
) -> PriorityDispatchResult:
    """Emit the operations that bring the recorded graph snapshot up to the code's graph."""
    dropped = [op for op in upgrade_ops.ops if _is_snapshots_table(op, ops.DropTableOp)]
    for op in dropped:
        upgrade_ops.ops.remove(op)
    if None not in schemas:  # the snapshots table lives in the default schema
        return PriorityDispatchResult.CONTINUE

    graph = _code_graph(autogen_context)
    if len(graph) == 0:
        log.info("no features defined: no graph snapshot to compare")
        return PriorityDispatchResult.CONTINUE
    connection = autogen_context.connection
    assert connection is not None  # autogenerate always has one
    recorded = latest_snapshot(connection)
    current = graph_snapshot(graph)
    if snapshots_equal(recorded, current):
        return PriorityDispatchResult.CONTINUE

    table_exists = autogen_context.inspector.has_table(SNAPSHOTS_TABLE)
    if not table_exists and not any(
        _is_snapshots_table(op, ops.CreateTableOp) for op in upgrade_ops.ops
    ):
        upgrade_ops.ops.append(ops.CreateTableOp.from_table(snapshots_table))
    diff = diff_snapshots(recorded, current)
    log.info("Detected graph snapshot change %s", diff.describe()[0])
    upgrade_ops.ops.append(RecordGraphSnapshotOp(current, diff=diff))
    return PriorityDispatchResult.CONTINUE
