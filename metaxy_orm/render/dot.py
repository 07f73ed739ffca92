"""Graphviz DOT of the graph and of a diff (``mxo graph render --format dot | dot -Tsvg``).

One cluster per feature, one node per field, edges from each field to the fields it reads.
Every id and label is a quoted DOT string, so keys need no mangling.
"""

from __future__ import annotations

from metaxy_orm.render.impact import DiffView
from metaxy_orm.render.model import GraphView

__all__ = ["diff_dot", "graph_dot"]

#: Fill and border colours of the statuses in a diff.
COLOURS = {
    "added": ("#dcfce7", "#15803d"),
    "removed": ("#fee2e2", "#b91c1c"),
    "changed": ("#fef3c7", "#b45309"),
    "reached": ("#ffedd5", "#c2410c"),
    "unchanged": ("#f1f5f9", "#94a3b8"),
}


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _header(name: str) -> list[str]:
    return [
        f"digraph {_q(name)} {{",
        "    rankdir=LR;",
        '    node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica"];',
        '    edge [color="#64748b"];',
    ]


def graph_dot(view: GraphView) -> str:
    """The graph: clusters of fields labelled with their versions."""
    lines = _header(f"metaxy graph {view.snapshot_version}")
    shown = {f.key for f in view.features}
    for i, feature in enumerate(view.features):
        lines.append(f"    subgraph {_q(f'cluster_{i}')} {{")
        lines.append(f"        label={_q(f'{feature.key} · {feature.version}')};")
        for field in feature.fields:
            label = f"{field.key}\\n{field.version} · code {field.code_version}"
            lines.append(f'        {_q(field.qualified)} [label="{label}"];')
        lines.append("    }")
    for feature in view.features:
        for field in feature.fields:
            for parent in field.parents:
                if parent.split(".", 1)[0] in shown:
                    lines.append(f"    {_q(parent)} -> {_q(field.qualified)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def diff_dot(view: DiffView) -> str:
    """The graph after the change (removed parts kept, dashed), coloured by status."""
    lines = _header(f"metaxy diff {view.diff.new_snapshot_version}")
    shown = {f.key for f in view.features}
    for i, feature in enumerate(view.features):
        _, border = COLOURS[feature.status]
        versions = " → ".join(
            dict.fromkeys(v for v in (feature.old_version, feature.new_version) if v)
        )
        lines.append(f"    subgraph {_q(f'cluster_{i}')} {{")
        lines.append(f"        label={_q(f'{feature.key} · {feature.status} · {versions}')};")
        lines.append(f'        style="rounded"; color="{border}";')
        for field in feature.fields:
            fill, border = COLOURS[field.status]
            versions = " → ".join(
                dict.fromkeys(v for v in (field.old_version, field.new_version) if v)
            )
            style = "rounded,filled,dashed" if field.status == "removed" else "rounded,filled"
            label = f"{field.key} · {field.status}\\n{versions}"
            lines.append(
                f'        {_q(field.qualified)} [label="{label}", '
                f'fillcolor="{fill}", color="{border}", style="{style}"];'
            )
        lines.append("    }")
    for node in view.new.features:
        for child in node.fields:
            for parent in child.parents:
                if parent.split(".", 1)[0] in shown:
                    lines.append(f"    {_q(parent)} -> {_q(child.qualified)};")
    lines.append("}")
    return "\n".join(lines) + "\n"
