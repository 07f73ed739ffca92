"""What every renderer draws: a graph snapshot as features, fields and field-level edges.

Renderers work on :class:`~metaxy_orm.snapshots.GraphSnapshot` literals, not on live feature
classes, so that the code's graph and a graph recorded months ago (``mxo graph diff 3 5``) are
drawn by the same code. The specs inside a snapshot are rebuilt into
:class:`~metaxy_orm.spec.FeatureSpec` objects so that field-level parents follow the one
definition of :func:`metaxy_orm.versioning.parent_fields` (explicit ``FieldDep`` or the default
mapping).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from metaxy_orm.keys import FeatureKey
from metaxy_orm.snapshots import GraphSnapshot
from metaxy_orm.spec import FeatureDep, FeatureSpec, FieldDep, FieldSpec
from metaxy_orm.versioning import parent_fields, qualified_field_name

__all__ = ["FeatureNode", "FieldNode", "GraphView", "spec_from_dict"]


@dataclass(frozen=True)
class FieldNode:
    """One field: its version, code version and the upstream fields it reads."""

    feature: str
    key: str
    version: str
    code_version: str
    parents: tuple[str, ...]  # qualified names "<feature>.<field>"

    @property
    def qualified(self) -> str:
        return f"{self.feature}.{self.key}"


@dataclass(frozen=True)
class FeatureNode:
    """One feature: its version, id columns, upstream features and fields."""

    key: str
    version: str
    id_columns: tuple[str, ...]
    upstream: tuple[str, ...]
    fields: tuple[FieldNode, ...]

    def field(self, key: str) -> FieldNode | None:
        return next((f for f in self.fields if f.key == key), None)


def spec_from_dict(data: Mapping[str, Any]) -> FeatureSpec:
    """Rebuild a :class:`FeatureSpec` from ``FeatureSpec.to_dict()`` (filters stay SQL text)."""
    deps = [
        FeatureDep(
            d["feature"],
            select=d.get("select") or None,
            rename=d.get("rename") or None,
            filters=d.get("filters") or None,
            optional=bool(d.get("optional", False)),
        )
        for d in data.get("deps", [])
    ]
    fields = [
        FieldSpec(
            f["key"],
            code_version=f["code_version"],
            deps=None
            if f.get("deps") is None
            else [FieldDep(d["feature"], d.get("fields")) for d in f["deps"]],
        )
        for f in data.get("fields", [])
    ]
    return FeatureSpec(data["key"], data["id_columns"], deps=deps, fields=fields)


@dataclass(frozen=True)
class GraphView:
    """A snapshot as nodes, in the snapshot's order (topological for the code's graph)."""

    snapshot_version: str
    hash_truncation_length: int
    features: tuple[FeatureNode, ...]

    @classmethod
    def from_snapshot(cls, snapshot: GraphSnapshot) -> GraphView:
        specs = {
            FeatureKey(key): spec_from_dict(feature["spec"])
            for key, feature in snapshot["features"].items()
        }
        nodes = []
        for key, feature in snapshot["features"].items():
            spec = specs[FeatureKey(key)]
            fields = tuple(
                FieldNode(
                    feature=key,
                    key=str(f.key),
                    version=feature["field_versions"].get(str(f.key), "?"),
                    code_version=f.code_version,
                    parents=tuple(
                        qualified_field_name(p, pf) for p, pf in parent_fields(specs, spec, f)
                    ),
                )
                for f in sorted(spec.fields, key=lambda f: str(f.key))
            )
            nodes.append(
                FeatureNode(
                    key=key,
                    version=feature["feature_version"],
                    id_columns=spec.id_columns,
                    upstream=tuple(str(d.feature) for d in spec.deps),
                    fields=fields,
                )
            )
        return cls(snapshot["snapshot_version"], snapshot["hash_truncation_length"], tuple(nodes))

    # -- lookups ---------------------------------------------------------------------------

    def feature(self, key: str) -> FeatureNode | None:
        return next((f for f in self.features if f.key == key), None)

    def downstream(self, key: str) -> list[str]:
        """Features that read this one directly."""
        return [f.key for f in self.features if key in f.upstream]

    def field_children(self, qualified: str) -> list[str]:
        """Fields that read this field directly (qualified names)."""
        return [c.qualified for f in self.features for c in f.fields if qualified in c.parents]

    def neighbourhood(self, key: str, *, up: int | None, down: int | None) -> GraphView:
        """The features within ``up`` hops upstream and ``down`` hops downstream of ``key``.

        ``None`` means no limit. Edges to features left out are dropped by the renderers.
        """
        keep = {key}
        frontier = {key}
        hops = 0
        while frontier and (up is None or hops < up):
            frontier = {u for k in frontier for u in self._node(k).upstream} - keep
            keep |= frontier
            hops += 1
        frontier, hops = {key}, 0
        while frontier and (down is None or hops < down):
            frontier = {d for k in frontier for d in self.downstream(k)} - keep
            keep |= frontier
            hops += 1
        return GraphView(
            self.snapshot_version,
            self.hash_truncation_length,
            tuple(f for f in self.features if f.key in keep),
        )

    def _node(self, key: str) -> FeatureNode:
        node = self.feature(key)
        assert node is not None, key
        return node

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: per feature, its version, id columns, upstream and resolved fields."""
        return {
            "snapshot_version": self.snapshot_version,
            "hash_truncation_length": self.hash_truncation_length,
            "features": [
                {
                    "key": f.key,
                    "version": f.version,
                    "id_columns": list(f.id_columns),
                    "upstream": list(f.upstream),
                    "fields": [
                        {
                            "key": x.key,
                            "version": x.version,
                            "code_version": x.code_version,
                            "parents": list(x.parents),
                        }
                        for x in f.fields
                    ],
                }
                for f in self.features
            ],
        }
