"""``mxo check``: is the database where the code expects it?

Three questions, answered with SQLAlchemy's inspector (so a lagging database gives a list of
what is missing, never a driver error): can we connect; does every feature's table exist with
every column of the code; is the last recorded graph snapshot the code's. Each problem comes
with the command that fixes it: Alembic's when the database is managed by Alembic (it has an
``alembic_version`` table), ``mxo graph push`` and ``create_all`` otherwise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
import typer

from metaxy_orm._sql.statements import feature_table
from metaxy_orm.cli.errors import ExitCode, handle_errors
from metaxy_orm.cli.options import JsonOption
from metaxy_orm.cli.output import Output
from metaxy_orm.cli.project import Project, project
from metaxy_orm.config import hide_password
from metaxy_orm.render.text import Line
from metaxy_orm.snapshots import diff_snapshots, latest_snapshot

__all__ = ["check"]

ALEMBIC_VERSION_TABLE = "alembic_version"


@dataclass(frozen=True)
class Problem:
    """One way the database differs from the code, and the fix."""

    kind: str  # connection | table | columns | snapshot
    feature: str | None
    message: str
    fix: str


def _schema_fix(uses_alembic: bool) -> str:
    if uses_alembic:
        return (
            "run `alembic upgrade head` (and `alembic revision --autogenerate` first if no "
            "revision creates it yet)"
        )
    return (
        "create the tables with Alembic (`alembic revision --autogenerate`, then "
        "`alembic upgrade head`) or `SQLModel.metadata.create_all(engine)`"
    )


def _inspect(proj: Project, conn: sa.Connection) -> tuple[list[Problem], list[str]]:
    problems: list[Problem] = []
    passed: list[str] = []
    inspector = sa.inspect(conn)
    uses_alembic = inspector.has_table(ALEMBIC_VERSION_TABLE)
    for feature in proj.graph:
        key = str(feature.feature_key())
        table = feature_table(feature)
        if not inspector.has_table(table.name, schema=table.schema):
            problems.append(
                Problem(
                    "table",
                    key,
                    f"feature '{key}': table '{table.name}' does not exist",
                    _schema_fix(uses_alembic),
                )
            )
            continue
        present = {c["name"] for c in inspector.get_columns(table.name, schema=table.schema)}
        missing = [c.name for c in table.columns if c.name not in present]
        if missing:
            problems.append(
                Problem(
                    "columns",
                    key,
                    f"feature '{key}': table '{table.name}' lacks column(s) {', '.join(missing)}",
                    _schema_fix(uses_alembic),
                )
            )
        else:
            passed.append(f"feature '{key}': table '{table.name}' has every column")
    recorded = latest_snapshot(conn)
    code = proj.snapshot
    push = (
        "run `alembic revision --autogenerate` and `alembic upgrade head` (it records the "
        "snapshot), or `mxo graph push`"
        if uses_alembic
        else "run `mxo graph push`"
    )
    if recorded is None:
        problems.append(
            Problem("snapshot", None, "no graph snapshot is recorded in the database", push)
        )
    else:
        changes = diff_snapshots(recorded, code)
        if changes:
            moved = ", ".join(c.feature for c in changes.features) or "hash settings"
            problems.append(
                Problem(
                    "snapshot",
                    None,
                    f"the last recorded snapshot ({recorded['snapshot_version']}) is not the "
                    f"code's ({code['snapshot_version']}); changed: {moved} "
                    "(details: `mxo graph diff`)",
                    push,
                )
            )
        else:
            passed.append(f"the last recorded snapshot is the code's ({code['snapshot_version']})")
    return problems, passed


@handle_errors()
def check(ctx: typer.Context, json: JsonOption = False) -> None:
    """Check that the database matches the code: tables, columns, recorded snapshot."""
    out = Output(json_mode=json)
    proj = project(ctx)
    proj.graph  # noqa: B018 - configuration errors first, before touching the database
    url = hide_password(proj.config.require_database_url())
    problems: list[Problem]
    passed: list[str] = []
    with proj.engine() as engine:
        try:
            with out.working("inspecting the database"), engine.connect() as conn:
                problems, passed = _inspect(proj, conn)
        except sa.exc.SQLAlchemyError as exc:
            orig = getattr(exc, "orig", None) or exc
            first = (str(orig).strip().splitlines() or [type(exc).__name__])[0]
            problems = [
                Problem(
                    "connection",
                    None,
                    f"cannot use the database {url}: {first}",
                    "check the database URL and that the server is running",
                )
            ]
    document: dict[str, Any] = {
        "ok": not problems,
        "database_url": url,
        "problems": [asdict(p) for p in problems],
        "passed": passed,
    }
    out.data(document)
    lines: list[Line] = [(("ok    ", "ok"), (p, "")) for p in passed]
    for p in problems:
        lines.append((("FAIL  ", "error"), (p.message, "")))
        lines.append((("      fix: ", "muted"), (p.fix, "warn")))
    lines.append(())
    lines.append(
        (("database matches the code", "ok"),)
        if not problems
        else ((f"{len(problems)} problem(s)", "error"),)
    )
    out.lines(lines)
    if problems:
        raise typer.Exit(ExitCode.FAILED)
