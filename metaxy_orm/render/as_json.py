"""JSON documents of the graph and of a diff, for scripts (``mxo ... --json``) and the web app.

The graph document *is* a :class:`~metaxy_orm.snapshots.GraphSnapshot` (``snapshot_version``,
``hash_truncation_length``, ``features``) with one more key, ``nodes``: the features in
topological order with their fields' resolved parents. So the output of
``mxo graph render --format json`` can be diffed against or recorded like any snapshot.
"""

from __future__ import annotations

from typing import Any

from metaxy_orm.render.impact import DiffView
from metaxy_orm.render.model import GraphView
from metaxy_orm.snapshots import GraphSnapshot

__all__ = ["diff_document", "graph_document"]


def graph_document(snapshot: GraphSnapshot, view: GraphView) -> dict[str, Any]:
    """The snapshot (restricted to the features of ``view``) plus the resolved ``nodes``."""
    shown = [f.key for f in view.features]
    return {
        "snapshot_version": snapshot["snapshot_version"],
        "hash_truncation_length": snapshot["hash_truncation_length"],
        "features": {key: snapshot["features"][key] for key in shown},
        "nodes": view.to_dict()["features"],
    }


def diff_document(view: DiffView, *, old_ref: str, new_ref: str) -> dict[str, Any]:
    """The diff with its two ends, what moved and what the change does not reach."""
    return {"from": old_ref, "to": new_ref, **view.to_dict()}
