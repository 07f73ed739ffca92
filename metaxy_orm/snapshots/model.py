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

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypedDict

from metaxy_orm.exceptions import SnapshotError

__all__ = [
    "FeatureSnapshot",
    "GraphChanges",
    "GraphSnapshot",
    "SnapshotRecording",
    "SupportsSnapshot",
    "apply_changes",
    "canonical_json",
    "graph_snapshot",
    "parse_changes",
    "parse_snapshot",
    "snapshot_changes",
    "snapshot_fingerprint",
    "snapshots_equal",
]

#: What a revision carries instead of a whole snapshot: feature key -> the feature as it is now
#: (added or changed), or ``None`` (removed). Features absent from it did not change.
GraphChanges = dict[str, "FeatureSnapshot | None"]


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


def _parse_feature(feature: Mapping[str, Any]) -> FeatureSnapshot:
    return FeatureSnapshot(
        feature_version=str(feature["feature_version"]),
        field_versions={str(k): str(v) for k, v in dict(feature["field_versions"]).items()},
        spec=dict(feature["spec"]),
    )


def parse_changes(data: Mapping[str, Any]) -> GraphChanges:
    """Check the changes of a revision (key -> feature or ``None``) and copy them."""
    try:
        return {
            str(key): None if feature is None else _parse_feature(feature)
            for key, feature in dict(data).items()
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise SnapshotError(
            f"malformed graph changes ({type(exc).__name__}: {exc}); expected a mapping of "
            "feature key -> None (removed) or feature_version, field_versions and spec"
        ) from exc


def snapshot_fingerprint(features: Mapping[str, Mapping[str, Any]], truncation: int) -> str:
    """The snapshot version of these features: a hash of every key and its feature version.

    The same hash as :meth:`FeatureGraph.snapshot_version
    <metaxy_orm.graph.FeatureGraph.snapshot_version>` (sha256 over the keys in sorted order,
    each followed by its feature version, truncated), computed from a snapshot's features
    alone, so that the snapshot that results from applying changes has a version without the
    code of its features.
    """
    digest = hashlib.sha256()
    for key in sorted(features):
        digest.update(key.encode("utf-8"))
        digest.update(str(features[key]["feature_version"]).encode("utf-8"))
    return digest.hexdigest()[:truncation]


def snapshot_changes(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> GraphChanges:
    """What a revision must carry to go from ``old`` to ``new``: the features that differ.

    A feature that is new or differs in any way (versions or spec) is given whole; a removed
    one as ``None``. When the truncation length changed, every version did: all features are
    given.
    """
    after = parse_snapshot(new)
    before = None if old is None else parse_snapshot(old)
    current = after["features"]
    if before is None or before["hash_truncation_length"] != after["hash_truncation_length"]:
        previous: dict[str, FeatureSnapshot] = {}
        removed = [] if before is None else [k for k in before["features"] if k not in current]
    else:
        previous = before["features"]
        removed = [k for k in previous if k not in current]
    changes: GraphChanges = {
        key: feature
        for key, feature in current.items()
        if key not in previous or canonical_json(previous[key]) != canonical_json(feature)
    }
    changes.update(dict.fromkeys(removed))
    return changes


def apply_changes(
    base: Mapping[str, Any] | None, changes: Mapping[str, Any], truncation: int
) -> GraphSnapshot:
    """The snapshot ``base`` becomes with ``changes`` applied (``None``: nothing recorded yet).

    Features the changes do not name are kept as ``base`` has them: that is what makes two
    branches that changed different features compose, whichever is applied first. The
    snapshot version is computed from the result (:func:`snapshot_fingerprint`).
    """
    features = {} if base is None else dict(parse_snapshot(base)["features"])
    for key, feature in parse_changes(changes).items():
        if feature is None:
            features.pop(key, None)
        else:
            features[key] = feature
    return GraphSnapshot(
        snapshot_version=snapshot_fingerprint(features, truncation),
        hash_truncation_length=truncation,
        features=features,
    )
