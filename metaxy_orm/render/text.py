"""Text views for people: the graph as boxes, a diff, aligned tables.

Lines are made of styled spans (``(text, style)``) so that one renderer serves both outputs:
the CLI colours the styles on a terminal and joins the bare text when piped. Nothing here
depends on the terminal's width, so the output is stable enough for golden tests.

Styles: ``feature``, ``field``, ``version``, ``muted``, and the statuses ``added``,
``removed``, ``changed``, ``reached``, ``unchanged``, ``ok``, ``warn``, ``error``.
"""

from __future__ import annotations

from collections.abc import Sequence

from metaxy_orm.render.impact import DiffView, FeatureImpact, FieldImpact
from metaxy_orm.render.model import GraphView

__all__ = ["Line", "Span", "diff_lines", "graph_lines", "plain", "table_lines"]

Span = tuple[str, str]
Line = tuple[Span, ...]


def plain(lines: Sequence[Line]) -> str:
    """The bare text of styled lines, one per line, with a final newline."""
    return "".join("".join(text for text, _ in line).rstrip() + "\n" for line in lines)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - len(text))


def table_lines(
    headers: Sequence[str], rows: Sequence[Sequence[Span | str]], *, right: Sequence[int] = ()
) -> list[Line]:
    """An aligned table; columns as wide as their widest cell; ``right`` columns right-aligned."""
    cells = [[c if isinstance(c, tuple) else (c, "") for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, (text, _) in enumerate(row):
            widths[i] = max(widths[i], len(text))

    last = len(headers) - 1

    def fit(i: int, text: str) -> str:
        if i in right:
            return text.rjust(widths[i])
        return text if i == last else _pad(text, widths[i])

    lines: list[Line] = [
        tuple(
            (fit(i, h) + ("  " if i < len(headers) - 1 else ""), "muted")
            for i, h in enumerate(headers)
        )
    ]
    for row in cells:
        lines.append(
            tuple(
                (fit(i, text), style) if i == len(row) - 1 else (fit(i, text) + "  ", style)
                for i, (text, style) in enumerate(row)
            )
        )
    return lines


# -- the graph -------------------------------------------------------------------------------


def graph_lines(view: GraphView) -> list[Line]:
    """One box per feature (topological order): version, ids, fields with their parents."""
    shown = {f.key for f in view.features}
    lines: list[Line] = [
        (
            ("graph ", "muted"),
            (view.snapshot_version, "version"),
            (
                f"  {len(view.features)} features, hash truncation {view.hash_truncation_length}",
                "muted",
            ),
        ),
    ]
    for feature in view.features:
        lines.append(())
        upstream = ", ".join(feature.upstream) if feature.upstream else "(root)"
        lines.append(
            (
                ("┌─ ", "muted"),
                (feature.key, "feature"),
                ("  version ", "muted"),
                (feature.version, "version"),
                (f"  ids: {', '.join(feature.id_columns)}  upstream: {upstream}", "muted"),
            )
        )
        width = max(len(f.key) for f in feature.fields)
        for field in feature.fields:
            parents = ", ".join(
                p if p.split(".", 1)[0] in shown else f"{p} (not shown)" for p in field.parents
            )
            lines.append(
                (
                    ("│  ", "muted"),
                    (_pad(field.key, width), "field"),
                    ("  ", ""),
                    (field.version, "version"),
                    (f"  code {field.code_version}", "muted"),
                    *((("  ← ", "muted"), (parents, "")) if parents else ()),
                )
            )
        downstream = [d for d in view.downstream(feature.key) if d in shown]
        tail = f"downstream: {', '.join(downstream)}" if downstream else "no downstream"
        lines.append((("└─ ", "muted"), (tail, "muted")))
    return lines


# -- a diff ----------------------------------------------------------------------------------

_FIELD_WORD = {
    "added": "added",
    "removed": "removed",
    "changed": "changed",
    "reached": "reached",
    "unchanged": "same",
}


def _versions(old: str | None, new: str | None) -> str:
    if old is None:
        return f"{new}"
    if new is None:
        return f"{old}"
    return old if old == new else f"{old} → {new}"


def _field_reason(field: FieldImpact) -> str:
    if field.status == "reached":
        return f"via {', '.join(field.via)}"
    if field.status == "changed" and field.old_code_version != field.new_code_version:
        return f"code version {field.old_code_version} → {field.new_code_version}"
    if field.status == "changed":
        return "dependencies changed"
    if field.status == "added":
        return f"code version {field.new_code_version}"
    if field.status == "unchanged":
        return "not reached"
    return ""


def _feature_line(feature: FeatureImpact) -> Line:
    word = "not reached" if feature.status == "unchanged" else feature.status
    extra = "  spec changed" if feature.spec_changed else ""
    return (
        (_pad(word, 12), feature.status),
        (feature.key, "feature"),
        ("  version ", "muted"),
        (_versions(feature.old_version, feature.new_version), "version"),
        (extra, "changed"),
    )


def diff_lines(view: DiffView, *, old_label: str, new_label: str) -> list[Line]:
    """The change from ``old_label`` to ``new_label`` and what it reaches, feature by feature."""
    diff = view.diff
    lines: list[Line] = [
        (
            ("graph diff ", "muted"),
            (old_label, "feature"),
            (f" ({diff.old_snapshot_version or 'nothing recorded'})", "muted"),
            (" → ", "muted"),
            (new_label, "feature"),
            (f" ({diff.new_snapshot_version})", "muted"),
        )
    ]
    if not diff:
        lines.append((("no changes", "ok"),))
        return lines
    if diff.old_hash_truncation_length not in (None, diff.new_hash_truncation_length):
        lines.append(
            (
                (
                    f"hash truncation length {diff.old_hash_truncation_length} → "
                    f"{diff.new_hash_truncation_length}",
                    "changed",
                ),
            )
        )
    region = view.region()
    for feature in region:
        lines.append(())
        lines.append(_feature_line(feature))
        width = max((len(f.key) for f in feature.fields), default=0)
        for field in feature.fields:
            reason = _field_reason(field)
            lines.append(
                (
                    ("  ", ""),
                    (_pad(_FIELD_WORD[field.status], 9), field.status),
                    (_pad(field.key, width), "field"),
                    ("  ", ""),
                    (_versions(field.old_version, field.new_version), "version"),
                    *((("  ", ""), (reason, "muted")) if reason else ()),
                )
            )
    lines.append(())
    moved = [f for f in region if f.status in ("added", "changed", "reached")]
    lines.append(
        (
            ("new feature versions (stored rows become stale): ", "muted"),
            (", ".join(f.key for f in moved) or "none", "changed"),
        )
    )
    removed = [f.key for f in region if f.status == "removed"]
    if removed:
        lines.append((("removed features: ", "muted"), (", ".join(removed), "removed")))
    not_reached = view.not_reached()
    lines.append(
        (
            ("not reached (stored rows stay valid): ", "muted"),
            (", ".join(f.qualified for f in not_reached) or "none", "unchanged"),
        )
    )
    others = [f.key for f in view.features if f not in region]
    if others:
        lines.append(((f"unaffected features: {', '.join(others)}", "muted"),))
    return lines
