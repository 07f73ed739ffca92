"""``mxo graph render`` and ``mxo graph diff``: the graph, and what a change reaches."""

from __future__ import annotations

import json as jsonlib
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
import typer

from metaxy_orm.cli.errors import CliError, ExitCode, handle_errors
from metaxy_orm.cli.history import CODE, load_recording, recordings, resolve_ref
from metaxy_orm.cli.options import Format, JsonOption
from metaxy_orm.cli.output import Output
from metaxy_orm.cli.project import Project, project
from metaxy_orm.render import (
    DiffView,
    GraphView,
    diff_document,
    diff_dot,
    diff_lines,
    diff_mermaid,
    graph_document,
    graph_dot,
    graph_lines,
    graph_mermaid,
)
from metaxy_orm.snapshots import GraphSnapshot, SnapshotError, diff_snapshots, graph_snapshot

__all__ = ["diff", "render"]

FormatOption = Annotated[
    Format, typer.Option("--format", "-f", help="terminal (boxes), mermaid, dot or json.")
]


def _write(text: str) -> None:
    typer.echo(text, nl=False)


@handle_errors()
def render(
    ctx: typer.Context,
    format: FormatOption = Format.terminal,
    feature: Annotated[
        str | None, typer.Option("--feature", help="Only this feature and its neighbours.")
    ] = None,
    up: Annotated[
        int | None, typer.Option("--up", min=0, help="With --feature: upstream hops (all).")
    ] = None,
    down: Annotated[
        int | None, typer.Option("--down", min=0, help="With --feature: downstream hops (all).")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Draw the feature graph with field-level dependencies and versions."""
    if json:
        format = Format.json
    if feature is None and (up is not None or down is not None):
        raise CliError("--up and --down need --feature")
    proj = project(ctx)
    snapshot = proj.snapshot
    view = GraphView.from_snapshot(snapshot)
    if feature is not None:
        proj.feature(feature)  # a clear error for an unknown key
        view = view.neighbourhood(str(proj.graph.get_spec(feature).key), up=up, down=down)
    if format is Format.json:
        Output(json_mode=True).data(graph_document(snapshot, view))
    elif format is Format.mermaid:
        _write(graph_mermaid(view))
    elif format is Format.dot:
        _write(graph_dot(view))
    else:
        Output(json_mode=False).lines(graph_lines(view))


def _snapshot_of(
    proj: Project, connection: sa.Connection | None, ref: str
) -> tuple[str, GraphSnapshot | None]:
    """The label and snapshot a reference names (``None``: nothing recorded yet)."""
    if ref == "latest" and connection is not None and not recordings(connection):
        return "nothing recorded", None
    label, number, path = resolve_ref(connection, ref)
    if label == CODE:
        return CODE, graph_snapshot(
            proj.graph, hash_truncation_length=proj.config.hash_truncation_length
        )
    if path is not None:
        return label, _snapshot_file(path)
    assert connection is not None
    assert number is not None
    return label, load_recording(connection, number)


def _snapshot_file(path: Path) -> GraphSnapshot:
    """A snapshot saved as JSON (``mxo graph render --format json`` writes one)."""
    try:
        data = jsonlib.loads(path.read_text(encoding="utf-8"))
        diff = diff_snapshots(None, data)  # validates the document
    except (ValueError, SnapshotError) as exc:
        raise CliError(f"{path} is not a snapshot document: {exc}") from exc
    return GraphSnapshot(
        snapshot_version=diff.new_snapshot_version,
        hash_truncation_length=int(data["hash_truncation_length"]),
        features=dict(data["features"]),
    )


@handle_errors()
def diff(
    ctx: typer.Context,
    from_ref: Annotated[
        str,
        typer.Argument(
            metavar="FROM",
            help="latest (default), latest~N, a recording number, a snapshot version, "
            "code, or a .json snapshot file.",
        ),
    ] = "latest",
    to_ref: Annotated[
        str, typer.Argument(metavar="TO", help="Same forms as FROM; default: code.")
    ] = CODE,
    format: FormatOption = Format.terminal,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit with 1 when the two graphs differ.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Compare two graphs: what changed, what the change reaches and what it does not."""
    if json:
        format = Format.json
    proj = project(ctx)
    needs_database = any(r != CODE and not r.endswith(".json") for r in (from_ref, to_ref))
    with ExitStack() as stack:
        connection = None
        if needs_database:
            engine = stack.enter_context(proj.engine())
            connection = stack.enter_context(engine.connect())
        old_label, old = _snapshot_of(proj, connection, from_ref)
        new_label, new = _snapshot_of(proj, connection, to_ref)
    if new is None:
        raise CliError(f"'{to_ref}' names no snapshot: nothing is recorded yet")
    view = DiffView.build(old, new, diff_snapshots(old, new))
    if format is Format.json:
        Output(json_mode=True).data(diff_document(view, old_ref=old_label, new_ref=new_label))
    elif format is Format.mermaid:
        _write(diff_mermaid(view))
    elif format is Format.dot:
        _write(diff_dot(view))
    else:
        Output(json_mode=False).lines(diff_lines(view, old_label=old_label, new_label=new_label))
    if exit_code and view.diff:
        raise typer.Exit(ExitCode.FAILED)
