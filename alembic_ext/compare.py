"""The autogenerate comparator for graph snapshots.

It compares the code's feature graph (the graph given to :func:`alembic_ext.configure`, else
the active one) with the latest snapshot recorded in the database and, when they differ, emits
:class:`~alembic_ext.ops.snapshot.RecordGraphChangesOp` carrying the features that changed
(each whole), the version of the new snapshot and what changed, for the comments. After
``alembic merge heads`` and an upgrade, the database holds both branches' changes applied one
after the other, so the comparison finds nothing when the branches changed different features,
and only the features both touched when they overlap.

The first time, it also emits the ``CREATE TABLE`` of ``metaxy_graph_snapshots``, so the table
appears (and disappears on downgrade) with the revision that first needs it.

The table is not in the user's ``target_metadata``, so Alembic's table comparator proposes to
drop it on every later autogenerate. Alembic skips its own version table the same way we skip
ours here: this comparator runs after the table comparator (priority ``LAST``) and takes back
that one ``DropTableOp``, so that neither ``env.py`` nor an ``include_object`` hook has to know
about the table.

Then, for every feature whose version changed, it proposes to reconcile its stored rows (move
them onto the new version without recomputing, :mod:`alembic_ext.ops.reconcile`). Whether that
is right depends on whether the change altered the feature's outputs, which only the user knows:
so the operation is written *active* only for the features the user names, with
``-x reconcile=crop,face_detection`` on the command line or ``reconcile=[...]`` in
:func:`alembic_ext.configure`; for the others it is written commented out, with an explanation,
and their rows stay stale until they are recomputed. A name that is not in the code's graph is an
error; a named feature whose version did not change is left out, with a warning.

Whether rows exist is not looked at: the database autogenerate compares with is often a
development one, not the one the revision will run on.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from alembic.operations import ops
from alembic.util import CommandError, PriorityDispatchResult

import alembic_ext.render  # noqa: F401 - registers the renderers of our operations
from alembic_ext.ops import CommentedOutOp, ReconcileFeaturesOp, RecordGraphChangesOp
from alembic_ext.options import RECONCILE_OPTION, RECONCILE_X_ARGUMENT, graph_option, log
from metaxy_orm.graph import FeatureGraph
from metaxy_orm.snapshots import (
    SNAPSHOTS_TABLE,
    FeatureChange,
    SnapshotDiff,
    diff_snapshots,
    graph_snapshot,
    latest_snapshot,
    snapshot_changes,
    snapshots_equal,
    snapshots_table,
)

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext
    from alembic.operations.ops import UpgradeOps

__all__ = ["compare_graph_snapshot", "reconcile_operations", "requested_reconcile"]


def _is_snapshots_table(op: ops.MigrateOperation, cls: type[ops.MigrateOperation]) -> bool:
    return (
        isinstance(op, cls)
        and getattr(op, "table_name", None) == SNAPSHOTS_TABLE
        and getattr(op, "schema", None) is None
    )


def _code_graph(autogen_context: AutogenContext) -> FeatureGraph:
    return graph_option(autogen_context.opts)


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
    requested = requested_reconcile(autogen_context, graph)
    connection = autogen_context.connection
    assert connection is not None  # autogenerate always has one
    recorded = latest_snapshot(connection)
    current = graph_snapshot(graph)
    if snapshots_equal(recorded, current):
        if requested:
            log.warning(
                "reconcile=%s: the graph did not change since the last recorded snapshot, so "
                "nothing is reconciled; to reconcile anyway, write mxop.reconcile_features(...) "
                "in a revision by hand",
                ",".join(requested),
            )
        return PriorityDispatchResult.CONTINUE

    table_exists = autogen_context.inspector.has_table(SNAPSHOTS_TABLE)
    if not table_exists and not any(
        _is_snapshots_table(op, ops.CreateTableOp) for op in upgrade_ops.ops
    ):
        upgrade_ops.ops.append(ops.CreateTableOp.from_table(snapshots_table))
    diff = diff_snapshots(recorded, current)
    log.info("Detected graph snapshot change %s", diff.describe()[0])
    upgrade_ops.ops.append(
        RecordGraphChangesOp(
            snapshot_changes(recorded, current),
            snapshot_version=current["snapshot_version"],
            hash_truncation_length=current["hash_truncation_length"],
            diff=diff,
        )
    )
    upgrade_ops.ops.extend(reconcile_operations(diff, requested))
    return PriorityDispatchResult.CONTINUE


def _names(value: Any, origin: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [name.strip() for name in value.split(",") if name.strip()]
    if isinstance(value, Iterable):
        return [str(name).strip() for name in value if str(name).strip()]
    raise CommandError(f"{origin} must be feature keys (a list, or a comma-separated string)")


def requested_reconcile(autogen_context: AutogenContext, graph: FeatureGraph) -> list[str]:
    """The features the user asked to reconcile: ``-x reconcile=...`` and ``reconcile=[...]``."""
    names = _names(autogen_context.opts.get(RECONCILE_OPTION), "the reconcile option")
    environment = autogen_context.migration_context.environment_context
    if environment is not None:
        x = environment.get_x_argument(as_dictionary=True).get(RECONCILE_X_ARGUMENT)
        names += _names(x, f"-x {RECONCILE_X_ARGUMENT}=")
    unknown = [name for name in names if name not in graph]
    if unknown:
        known = ", ".join(str(k) for k in graph.topological_order())
        raise CommandError(
            f"reconcile: feature(s) {', '.join(repr(n) for n in unknown)} not in the code's "
            f"feature graph (known: {known})"
        )
    return list(dict.fromkeys(names))


_PROPOSAL = (
    "Reconcile instead of recomputing? The stored rows of {features} were written under their "
    "old versions and are now stale: recomputing them (resolve_update, then write) brings them "
    "up to date. If the change did not alter their outputs (a refactor, a fix that leaves "
    "results as they were), reconciling moves the rows onto the new versions as they are, in "
    "SQL, without recomputing. To reconcile, uncomment this and the mxop.delete_materialization "
    "in downgrade(), or generate the revision with "
    "`alembic -x reconcile={keys} revision --autogenerate`.{warnings}"
)
_PROPOSAL_REVERSE = "Uncomment together with mxop.reconcile_features(...) in upgrade()."
_REQUESTED = (
    "Reconciled without recomputation, as asked (reconcile={keys}): the rows move onto the new "
    "versions as they are, which is right only if the change did not alter their outputs."
    "{warnings}"
)


def _warnings(changes: Iterable[FeatureChange]) -> str:
    lines = [
        f" {c.feature} gains field(s) {', '.join(c.added_fields)}, whose outputs were never "
        "computed: recompute it rather than reconcile it."
        for c in changes
        if c.added_fields
    ]
    return "".join(lines)


def reconcile_operations(diff: SnapshotDiff, requested: list[str]) -> list[Any]:
    """The reconcile operations of a graph change: active for ``requested``, else proposed.

    Only features whose version changed are considered (in the graph's topological order,
    which the diff keeps); each goes with the version it is reconciled onto.
    """
    changed = [
        c for c in diff.changed if c.new_version is not None and c.old_version != c.new_version
    ]
    names = {c.feature for c in changed}
    for name in requested:
        if name not in names:
            log.warning(
                "reconcile=%s: the version of feature '%s' did not change, so its rows are not "
                "stale because of this revision; not reconciled",
                name,
                name,
            )
    active = [c for c in changed if c.feature in requested]
    proposed = [c for c in changed if c.feature not in requested]
    operations: list[Any] = []
    if active:
        keys = ",".join(c.feature for c in active)
        for c in active:
            if c.added_fields:
                log.warning("reconcile=%s: %s", c.feature, _warnings([c]).strip())
        operations.append(
            ReconcileFeaturesOp(
                {c.feature: c.new_version for c in active},
                materialization_id=None,
                note=_REQUESTED.format(keys=keys, warnings=_warnings(active)),
            )
        )
    if proposed:
        keys = ",".join(c.feature for c in changed)
        operation = ReconcileFeaturesOp(
            {c.feature: c.new_version for c in proposed}, materialization_id=None
        )
        note = _PROPOSAL.format(
            features=", ".join(c.feature for c in proposed),
            keys=keys,
            warnings=_warnings(proposed),
        )
        operations.append(CommentedOutOp(operation, note, reverse_note=_PROPOSAL_REVERSE))
        log.info(
            "Proposed (commented out) reconciling %s; to reconcile instead of recomputing, "
            "name them: alembic -x reconcile=%s revision --autogenerate",
            ", ".join(c.feature for c in proposed),
            keys,
        )
    return operations
