"""Mermaid flowcharts of the graph and of a diff (Markdown docs, GitHub comments, the web app).

One subgraph per feature, one node per field, edges from each field to the fields it reads.
Node ids are built from the key parts (``F_crop___audio``): key parts never contain ``__``, so a
triple underscore only ever separates the feature from the field, and ids stay unique.
"""

from __future__ import annotations

from collections.abc import Iterable

from metaxy_orm.render.impact import DiffView, FeatureImpact, FieldImpact
from metaxy_orm.render.model import GraphView

__all__ = ["diff_mermaid", "graph_mermaid"]

#: Colours of the statuses in a diff.
CLASSES = {
    "added": "fill:#dcfce7,stroke:#15803d,color:#14532d",
    "removed": "fill:#fee2e2,stroke:#b91c1c,color:#7f1d1d,stroke-dasharray:4 3",
    "changed": "fill:#fef3c7,stroke:#b45309,color:#78350f",
    "reached": "fill:#ffedd5,stroke:#c2410c,color:#7c2d12",
    "unchanged": "fill:#f1f5f9,stroke:#94a3b8,color:#334155",
}


def _id(feature: str, field: str | None = None) -> str:
    base = "F_" + feature.replace("/", "__")
    return base if field is None else f"{base}___{field.replace('/', '__')}"


def _label(*parts: str) -> str:
    # Keys and versions hold no quotes; escape anyway so that any text stays one label.
    return '"' + "<br/>".join(p.replace('"', "#quot;") for p in parts) + '"'


def _edges(fields: Iterable[tuple[str, str, tuple[str, ...]]], shown: set[str]) -> list[str]:
    lines = []
    for feature, key, parents in fields:
        for parent in parents:
            parent_feature, parent_field = parent.split(".", 1)
            if parent_feature in shown:
                lines.append(f"    {_id(parent_feature, parent_field)} --> {_id(feature, key)}")
    return lines


def graph_mermaid(view: GraphView) -> str:
    """The graph: features as boxes of fields, with versions and code versions."""
    lines = ["flowchart LR"]
    shown = {f.key for f in view.features}
    for feature in view.features:
        lines.append(
            f"    subgraph {_id(feature.key)}[{_label(f'{feature.key} · {feature.version}')}]"
        )
        for field in feature.fields:
            label = _label(field.key, f"{field.version} · code {field.code_version}")
            lines.append(f"        {_id(feature.key, field.key)}[{label}]")
        lines.append("    end")
    lines += _edges(
        ((f.feature, f.key, f.parents) for feature in view.features for f in feature.fields),
        shown,
    )
    return "\n".join(lines) + "\n"


def _field_text(field: FieldImpact) -> str:
    if field.old_version is None:
        return f"+ {field.new_version}"
    if field.new_version is None:
        return f"- {field.old_version}"
    if field.old_version == field.new_version:
        return field.new_version
    return f"{field.old_version} → {field.new_version}"


def _feature_text(feature: FeatureImpact) -> str:
    old, new = feature.old_version, feature.new_version
    versions = (new or old or "") if old is None or new is None or old == new else f"{old} → {new}"
    return f"{feature.key} · {feature.status} · {versions}"


def diff_mermaid(view: DiffView) -> str:
    """The graph after the change (removed parts kept, dashed), coloured by status."""
    lines = ["flowchart LR"]
    lines += [f"    classDef {name} {style}" for name, style in CLASSES.items()]
    shown = {f.key for f in view.features}
    members: dict[str, list[str]] = {}
    for feature in view.features:
        lines.append(f"    subgraph {_id(feature.key)}[{_label(_feature_text(feature))}]")
        for field in feature.fields:
            node = _id(feature.key, field.key)
            detail = _field_text(field)
            if field.status == "changed" and field.old_code_version != field.new_code_version:
                detail += f" · code {field.old_code_version} → {field.new_code_version}"
            lines.append(f"        {node}[{_label(f'{field.key} · {field.status}', detail)}]")
            members.setdefault(field.status, []).append(node)
        lines.append("    end")
        members.setdefault(feature.status, []).append(_id(feature.key))
    parents = {
        f.qualified: parents
        for node in view.new.features
        for f, parents in ((f, f.parents) for f in node.fields)
    }
    lines += _edges(
        (
            (f.feature, f.key, parents.get(f.qualified, ()))
            for feature in view.features
            for f in feature.fields
        ),
        shown,
    )
    lines += [f"    class {','.join(ids)} {status}" for status, ids in members.items()]
    return "\n".join(lines) + "\n"
