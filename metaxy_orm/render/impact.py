"""What a graph change reaches, field by field: the model behind ``mxo graph diff``.

:func:`metaxy_orm.snapshots.diff_snapshots` lists every field whose version moved. This module
tells *why* each moved: its own change (code version, added, removed, spec) or an upstream field
that moved (``reached``, with the fields it came through), and which fields of the features
downstream of a change kept their version (``unchanged``: the change does not reach them, so
their stored rows stay valid).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from metaxy_orm.render.model import FeatureNode, GraphView
from metaxy_orm.snapshots import FeatureChange, GraphSnapshot, SnapshotDiff

__all__ = ["DiffView", "FeatureImpact", "FieldImpact", "Status"]

Status = Literal["added", "removed", "changed", "reached", "unchanged"]


@dataclass(frozen=True)
class FieldImpact:
    """One field in a diff: its status, versions and what reached it."""

    feature: str
    key: str
    status: Status
    old_version: str | None
    new_version: str | None
    old_code_version: str | None
    new_code_version: str | None
    via: tuple[str, ...] = ()  # changed upstream fields (qualified) that moved this one

    @property
    def qualified(self) -> str:
        return f"{self.feature}.{self.key}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.key,
            "status": self.status,
            "old_version": self.old_version,
            "new_version": self.new_version,
            "old_code_version": self.old_code_version,
            "new_code_version": self.new_code_version,
            "via": list(self.via),
        }


@dataclass(frozen=True)
class FeatureImpact:
    """One feature in a diff."""

    key: str
    status: Status
    old_version: str | None
    new_version: str | None
    spec_changed: bool
    fields: tuple[FieldImpact, ...]
    upstream: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.key,
            "status": self.status,
            "old_version": self.old_version,
            "new_version": self.new_version,
            "spec_changed": self.spec_changed,
            "fields": [f.to_dict() for f in self.fields],
        }


def _node_fields(node: FeatureNode | None) -> dict[str, Any]:
    return {} if node is None else {f.key: f for f in node.fields}


@dataclass(frozen=True)
class DiffView:
    """Every feature of both graphs (new order, removed ones last) with its impact."""

    diff: SnapshotDiff
    features: tuple[FeatureImpact, ...]
    new: GraphView

    @classmethod
    def build(cls, old: GraphSnapshot | None, new: GraphSnapshot, diff: SnapshotDiff) -> DiffView:
        old_view = None if old is None else GraphView.from_snapshot(old)
        new_view = GraphView.from_snapshot(new)
        changes: dict[str, FeatureChange] = {c.feature: c for c in diff.features}
        impacts: dict[str, FieldImpact] = {}
        features: list[FeatureImpact] = []
        # The new graph is in topological order: parents are decided before their children.
        for node in new_view.features:
            before = None if old_view is None else old_view.feature(node.key)
            old_fields = _node_fields(before)
            fields = []
            for f in node.fields:
                previous = old_fields.get(f.key)
                if previous is None:
                    status: Status = "added"
                    via: tuple[str, ...] = ()
                elif previous.version == f.version:
                    status, via = "unchanged", ()
                else:
                    via = tuple(
                        p for p in f.parents if p in impacts and impacts[p].status != "unchanged"
                    )
                    own = previous.code_version != f.code_version or not via
                    status = "changed" if own else "reached"
                impact = FieldImpact(
                    node.key,
                    f.key,
                    status,
                    None if previous is None else previous.version,
                    f.version,
                    None if previous is None else previous.code_version,
                    f.code_version,
                    via,
                )
                impacts[impact.qualified] = impact
                fields.append(impact)
            for key, previous in old_fields.items():
                if node.field(key) is None:
                    fields.append(
                        FieldImpact(
                            node.key,
                            key,
                            "removed",
                            previous.version,
                            None,
                            previous.code_version,
                            None,
                        )
                    )
            change = changes.get(node.key)
            spec_changed = change.spec_changed if change is not None else False
            statuses = {f.status for f in fields}
            feature_status: Status
            if before is None:
                feature_status = "added"
            elif spec_changed or statuses & {"changed", "added", "removed"}:
                feature_status = "changed"
            elif "reached" in statuses:
                feature_status = "reached"
            else:
                feature_status = "changed" if before.version != node.version else "unchanged"
            features.append(
                FeatureImpact(
                    node.key,
                    feature_status,
                    None if before is None else before.version,
                    node.version,
                    spec_changed,
                    tuple(fields),
                    node.upstream,
                )
            )
        for node in () if old_view is None else old_view.features:
            if new_view.feature(node.key) is None:
                features.append(
                    FeatureImpact(
                        node.key,
                        "removed",
                        node.version,
                        None,
                        False,
                        tuple(
                            FieldImpact(
                                node.key, f.key, "removed", f.version, None, f.code_version, None
                            )
                            for f in node.fields
                        ),
                        node.upstream,
                    )
                )
        return cls(diff, tuple(features), new_view)

    # -- questions the renderers ask -------------------------------------------------------

    @property
    def moved(self) -> tuple[FeatureImpact, ...]:
        """Features whose status is not ``unchanged``."""
        return tuple(f for f in self.features if f.status != "unchanged")

    def region(self) -> tuple[FeatureImpact, ...]:
        """Moved features and every feature downstream of one (in graph order)."""
        keep = {f.key for f in self.moved}
        for feature in self.features:
            if any(u in keep for u in feature.upstream):
                keep.add(feature.key)
        return tuple(f for f in self.features if f.key in keep)

    def not_reached(self) -> tuple[FieldImpact, ...]:
        """Fields of the region whose version did not move: the change does not reach them."""
        return tuple(
            f for feature in self.region() for f in feature.fields if f.status == "unchanged"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "old_snapshot_version": self.diff.old_snapshot_version,
            "new_snapshot_version": self.diff.new_snapshot_version,
            "old_hash_truncation_length": self.diff.old_hash_truncation_length,
            "new_hash_truncation_length": self.diff.new_hash_truncation_length,
            "changed": bool(self.diff),
            "features": [f.to_dict() for f in self.region()],
            "not_reached": [f.qualified for f in self.not_reached()],
            "unaffected_features": [f.key for f in self.features if f not in self.region()],
        }
