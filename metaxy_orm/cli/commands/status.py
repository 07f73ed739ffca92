"""``mxo status``: per feature, stored rows and samples, and how many are new, stale, orphaned.

The counts come from :meth:`MetadataStore.status` (one grouped query per feature, only counts
travel). A root feature's expected samples are known only to the code that ingests them, so
its line says so instead of guessing; ``--assert-in-sync`` fails only on what can be told.
"""

from __future__ import annotations

from typing import Annotated

import typer

from metaxy_orm.cli.errors import ExitCode, handle_errors
from metaxy_orm.cli.options import JsonOption
from metaxy_orm.cli.output import Output
from metaxy_orm.cli.project import project
from metaxy_orm.render.text import Span, table_lines
from metaxy_orm.store import FeatureStatus

__all__ = ["describe", "status"]


def describe(s: FeatureStatus) -> Span:
    """The state of one feature in words, with its style."""
    if s.is_root:
        if s.samples == 0:
            return (
                f"root: no samples yet (ingest: resolve_update('{s.feature}', samples=...))",
                "warn",
            )
        return (
            f"root: needs its samples to tell (resolve_update('{s.feature}', samples=...))",
            "muted",
        )
    if s.in_sync:
        return ("in sync", "ok")
    work = [f"{n} {what}" for what, n in (("new", s.new), ("stale", s.stale)) if n]
    if s.orphaned:
        work.append(f"{s.orphaned} orphaned")
    return ("needs work: " + ", ".join(work), "changed")


def _count(n: int | None) -> str:
    return "-" if n is None else str(n)


@handle_errors()
def status(
    ctx: typer.Context,
    features: Annotated[
        list[str] | None, typer.Argument(help="Feature keys (default: every feature).")
    ] = None,
    assert_in_sync: Annotated[
        bool,
        typer.Option(
            "--assert-in-sync",
            help="Exit with 1 when a feature has new, stale or orphaned samples.",
        ),
    ] = False,
    json: JsonOption = False,
) -> None:
    """How far each feature is from up to date: rows, samples, new, stale, orphaned."""
    out = Output(json_mode=json)
    proj = project(ctx)
    chosen = [proj.feature(k) for k in features] if features else list(proj.graph)
    results: list[FeatureStatus] = []
    with proj.engine() as engine:
        store = proj.store(engine)
        with out.progress("status", len(chosen)) as advance:
            for feature in chosen:
                results.extend(store.status(feature))
                advance(str(feature.feature_key()))
    in_sync = all(s.in_sync is not False for s in results)
    out.data({"in_sync": in_sync, "features": [s.to_dict() for s in results]})
    rows: list[list[Span | str]] = [
        [
            (s.feature, "feature"),
            str(s.rows),
            str(s.samples),
            _count(s.new),
            _count(s.stale),
            _count(s.orphaned),
            describe(s),
        ]
        for s in results
    ]
    out.lines(
        table_lines(
            ["feature", "rows", "samples", "new", "stale", "orphaned", "state"],
            rows,
            right=[1, 2, 3, 4, 5],
        )
    )
    if assert_in_sync and not in_sync:
        out.message("not in sync: some features have samples to compute", "error")
        raise typer.Exit(ExitCode.FAILED)
