"""The feature graph as an SVG drawn on the server: one box per feature, one edge per field.

A small layered layout, no browser library and no system binary: a feature's column is its
depth (the longest path from a root), features keep the graph's topological order within a
column, and every field is a row of its box so that edges join the exact fields that depend on
each other. Boxes are coloured by the feature's state (in sync, new, stale, orphans).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

import metaxy_orm as mx
from metaxy_orm.web import field_edges

BOX_WIDTH = 230
HEADER = 46
ROW = 24
COLUMN_GAP = 110
BOX_GAP = 34
MARGIN = 20

#: state -> (fill, stroke, label)
COLOURS = {
    "root": ("#eef2f7", "#64748b", "root"),
    "in_sync": ("#e7f6ec", "#2f9e58", "in sync"),
    "new": ("#e6f0fd", "#2f6fdb", "has new"),
    "stale": ("#fff3e0", "#e07b00", "has stale"),
    "orphaned": ("#fdeaea", "#d03c3c", "has orphans"),
}


def state_of(status: mx.FeatureStatus) -> str:
    """One state per feature, the most urgent first: orphans, stale, new, in sync."""
    if status.is_root:
        return "root"
    if status.orphaned:
        return "orphaned"
    if status.stale:
        return "stale"
    if status.new:
        return "new"
    return "in_sync"


@dataclass(frozen=True)
class Box:
    key: str
    x: int
    y: int
    fields: tuple[str, ...]

    @property
    def height(self) -> int:
        return HEADER + ROW * len(self.fields) + 6

    def field_y(self, field: str) -> int:
        return self.y + HEADER + ROW * self.fields.index(field) + ROW // 2


def layout(graph: mx.FeatureGraph) -> dict[str, Box]:
    """Column = longest path from a root; rows in topological order within a column."""
    depth: dict[str, int] = {}
    order = graph.topological_order()
    for key in order:
        parents = [str(p) for p in graph.upstream(key)]
        depth[str(key)] = 1 + max((depth[p] for p in parents), default=-1)
    next_y: dict[int, int] = {}
    boxes: dict[str, Box] = {}
    for key in order:
        name = str(key)
        column = depth[name]
        fields = tuple(sorted(str(f) for f in graph.get_spec(key).field_keys))
        y = next_y.get(column, MARGIN)
        box = Box(name, MARGIN + column * (BOX_WIDTH + COLUMN_GAP), y, fields)
        boxes[name] = box
        next_y[column] = y + box.height + BOX_GAP
    return boxes


def _counts(status: mx.FeatureStatus | None) -> str:
    if status is None:
        return ""
    if status.is_root:
        return f"{status.samples} samples, {status.rows} rows"
    return f"new {status.new} · stale {status.stale} · orphaned {status.orphaned}"


def render(graph: mx.FeatureGraph, statuses: Mapping[str, mx.FeatureStatus]) -> str:
    """The SVG document (``<svg>`` element) of the graph with each feature's state."""
    boxes = layout(graph)
    width = max(b.x for b in boxes.values()) + BOX_WIDTH + MARGIN
    height = max(b.y + b.height for b in boxes.values()) + MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="graph" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="system-ui, sans-serif" font-size="13">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#7b8794"/></marker>'
        "</defs>",
    ]
    for edge in field_edges(graph):
        parent, child = boxes[edge.parent], boxes[edge.child]
        x1, y1 = parent.x + BOX_WIDTH, parent.field_y(edge.parent_field)
        x2, y2 = child.x, child.field_y(edge.child_field)
        bend = max(40, (x2 - x1) // 2)
        title = f"{edge.parent}.{edge.parent_field} → {edge.child}.{edge.child_field}"
        parts.append(
            f'<path class="edge" d="M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}" '
            f'fill="none" stroke="#7b8794" stroke-width="1.6" marker-end="url(#arrow)">'
            f"<title>{escape(title)}</title></path>"
        )
    for key, box in boxes.items():
        status = statuses.get(key)
        state = state_of(status) if status is not None else "root"
        fill, stroke, label = COLOURS[state]
        parts.append(
            f'<g class="feature" data-feature="{escape(key)}" data-state="{state}">'
            f'<a href="/features/{escape(key)}">'
            f'<rect x="{box.x}" y="{box.y}" width="{BOX_WIDTH}" height="{box.height}" rx="8" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="2"/>'
            f'<text x="{box.x + 10}" y="{box.y + 19}" font-weight="700" font-size="15">'
            f"{escape(key)}</text>"
            f'<text x="{box.x + BOX_WIDTH - 10}" y="{box.y + 19}" text-anchor="end" '
            f'fill="{stroke}" font-weight="600">{label}</text>'
            f'<text class="counts" x="{box.x + 10}" y="{box.y + 37}" fill="#334155">'
            f"{escape(_counts(status))}</text>"
        )
        for field in box.fields:
            y = box.field_y(field)
            parts.append(
                f'<line x1="{box.x}" y1="{y - ROW // 2}" x2="{box.x + BOX_WIDTH}" '
                f'y2="{y - ROW // 2}" stroke="{stroke}" stroke-opacity="0.35"/>'
                f'<text x="{box.x + 14}" y="{y + 4}" fill="#1f2933">• {escape(field)}</text>'
            )
        parts.append("</a></g>")
    parts.append("</svg>")
    return "".join(parts)
