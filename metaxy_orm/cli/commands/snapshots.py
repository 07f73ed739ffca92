"""``mxo graph push`` and ``mxo graph history``: record the code's snapshot, list recordings.

``push`` writes through :func:`metaxy_orm.snapshots.record_snapshot` into the table the Alembic
extension uses, so a project may record with Alembic revisions, with ``mxo``, or both.
"""

from __future__ import annotations

import typer

from metaxy_orm.cli.errors import handle_errors
from metaxy_orm.cli.history import recording_dict, recordings
from metaxy_orm.cli.options import JsonOption
from metaxy_orm.cli.output import Output
from metaxy_orm.cli.project import project
from metaxy_orm.render.text import Span, table_lines
from metaxy_orm.snapshots import create_snapshots_table, record_snapshot

__all__ = ["history", "push"]


@handle_errors()
def push(ctx: typer.Context, json: JsonOption = False) -> None:
    """Record the code's graph snapshot in the database (nothing if it is already the latest)."""
    out = Output(json_mode=json)
    proj = project(ctx)
    snapshot = proj.snapshot
    with proj.engine() as engine, engine.begin() as conn:
        create_snapshots_table(conn)
        written = record_snapshot(conn, snapshot)
        latest = recordings(conn)[0]
    out.data(
        {
            "recorded": written,
            "recording": latest.number,
            "snapshot_version": snapshot["snapshot_version"],
            "features": len(snapshot["features"]),
        }
    )
    if written:
        out.text(
            f"recorded snapshot {snapshot['snapshot_version']} as recording {latest.number} "
            f"({len(snapshot['features'])} features)",
            "ok",
        )
    else:
        out.text(
            f"snapshot {snapshot['snapshot_version']} is already the latest recording "
            f"({latest.number}); nothing written",
            "muted",
        )


@handle_errors()
def history(ctx: typer.Context, json: JsonOption = False) -> None:
    """List the recorded graph snapshots, newest first."""
    out = Output(json_mode=json)
    proj = project(ctx)
    code_version = proj.snapshot["snapshot_version"]
    with proj.engine() as engine, engine.connect() as conn:
        found = recordings(conn)
    out.data(
        {
            "code_snapshot_version": code_version,
            "recordings": [recording_dict(r) for r in found],
        }
    )
    if not found:
        out.text("no snapshot recorded yet: record the code's with `mxo graph push`", "warn")
        return
    rows: list[list[Span | str]] = [
        [
            str(r.number),
            (r.snapshot_version, "version"),
            str(r.feature_count),
            r.recorded_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            ("= code", "ok") if r.snapshot_version == code_version else "",
        ]
        for r in found
    ]
    out.lines(
        table_lines(["recording", "snapshot", "features", "recorded at", ""], rows, right=[0, 2])
    )
