"""The graph snapshot model: what the feature graph looked like, as plain JSON-ready data.

A snapshot lists every feature with its feature version, its field versions and its spec, and
the truncation length the versions were computed at. It is the one shape shared by everything
that handles snapshots: :meth:`FeatureGraph.snapshot() <metaxy_orm.graph.FeatureGraph.snapshot>`
builds it, Alembic revisions carry it as a literal, the snapshots table stores and returns it,
and :func:`~metaxy_orm.snapshots.diff.diff_snapshots` compares two of them.

It is a ``TypedDict`` rather than a class with behaviour because it travels as a literal (in
revision files, in JSON for a dashboard): :func:`parse_snapshot` checks and copies data that
came from outside. This module is pure Python (no SQL, no database): a CLI or a dashboard can
import it without a database driver.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypedDict

from metaxy_orm.exceptions import SnapshotError

__all__ = [
    "FeatureSnapshot",
    "GraphSnapshot",
    "SnapshotRecording",
    "SupportsSnapshot",
    "canonical_json",
    "graph_snapshot",
    "parse_snapshot",
    "snapshots_equal",
]


class FeatureSnapshot(TypedDict):
    """One feature in a snapshot."""

    feature_version: str
    field_versions: dict[str, str]
    spec: dict[str, Any]


class GraphSnapshot(TypedDict):
    """A whole snapshot: what ``FeatureGraph.snapshot()`` returns and Alembic revisions carry."""

    snapshot_version: str
    hash_truncation_length: int
    features: dict[str, FeatureSnapshot]


@dataclass(frozen=True)
class SnapshotRecording:
    """One recording of a snapshot in the database (an entry of its history)."""

    #: 1, 2, 3...: the order of recordings; the highest is the latest snapshot.
    number: int
    snapshot_version: str
    #: When it was recorded (time zone aware, UTC).
    recorded_at: datetime
    feature_count: int


class SupportsSnapshot(Protocol):
    """Anything that can describe itself as a snapshot (a ``FeatureGraph``)."""

    def snapshot(self, *, hash_truncation_length: int | None = None) -> GraphSnapshot: ...


def graph_snapshot(
    graph: SupportsSnapshot, *, hash_truncation_length: int | None = None
) -> GraphSnapshot:
    """The snapshot of a graph (by default at the graph's own truncation length).

    The same as ``graph.snapshot(...)``; kept as a function for code written against it.
    """
    return graph.snapshot(hash_truncation_length=hash_truncation_length)


def parse_snapshot(data: Mapping[str, Any]) -> GraphSnapshot:
    """Check a snapshot that came from outside (a revision file, JSON) and copy it.

    Raises :class:`~metaxy_orm.exceptions.SnapshotError` naming what is missing or malformed.
    """
    try:
        features = data["features"]
        return GraphSnapshot(
            snapshot_version=str(data["snapshot_version"]),
            hash_truncation_length=int(data["hash_truncation_length"]),
            features={
                str(key): FeatureSnapshot(
                    feature_version=str(feature["feature_version"]),
                    field_versions={
                        str(k): str(v) for k, v in dict(feature["field_versions"]).items()
                    },
                    spec=dict(feature["spec"]),
                )
                for key, feature in dict(features).items()
            },
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SnapshotError(
            f"malformed graph snapshot ({type(exc).__name__}: {exc}); expected a mapping with "
            "'snapshot_version', 'hash_truncation_length' and 'features' "
            "(key -> feature_version, field_versions, spec), as FeatureGraph.snapshot() returns"
        ) from exc


def canonical_json(value: Mapping[str, Any]) -> str:
    """A stable text form (sorted keys), for comparing and storing snapshot parts."""
    return json.dumps(value, sort_keys=True)


def snapshots_equal(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """Whether two snapshots record the same thing (versions, specs and truncation length)."""
    if a is None or b is None:
        return a is b
    return canonical_json(parse_snapshot(a)) == canonical_json(parse_snapshot(b))
