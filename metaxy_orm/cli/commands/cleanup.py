"""``mxo cleanup FEATURE --keep-last N``: history retention, with a confirmation.

The rows to delete are those :meth:`MetadataStore.cleanup` deletes (not among the ``N`` newest
of their sample); ``--dry-run`` counts them with the same condition and deletes nothing.
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
import typer

from metaxy_orm._sql.data_ops import cleanup_statement
from metaxy_orm._sql.statements import FeatureStatements
from metaxy_orm.cli.errors import ExitCode, handle_errors
from metaxy_orm.cli.options import FeatureArg, JsonOption
from metaxy_orm.cli.output import Output
from metaxy_orm.cli.project import project

__all__ = ["cleanup"]


@handle_errors()
def cleanup(
    ctx: typer.Context,
    feature: FeatureArg,
    keep_last: Annotated[
        int, typer.Option("--keep-last", min=1, help="Rows to keep per sample, newest first.")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count the rows that would be deleted.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    json: JsonOption = False,
) -> None:
    """Delete old rows of a feature, keeping the newest N per sample (cannot be undone)."""
    out = Output(json_mode=json)
    proj = project(ctx)
    cls = proj.feature(feature)
    key = str(cls.feature_key())
    with proj.engine() as engine:
        store = proj.store(engine)
        stmts = FeatureStatements(cls, cls.feature_graph(), store.backend, store.settings)
        doomed = cleanup_statement(stmts, keep_last=keep_last).whereclause
        assert doomed is not None
        count = sa.select(sa.func.count()).select_from(stmts.table)
        with out.working(f"counting the rows of '{key}'"), engine.connect() as conn:
            total = int(conn.execute(count).scalar_one())
            to_delete = int(conn.execute(count.where(doomed)).scalar_one())
        document = {
            "feature": key,
            "keep_last": keep_last,
            "rows": total,
            "rows_to_delete": to_delete,
            "dry_run": dry_run,
            "deleted": 0,
        }
        what = (
            f"{to_delete} of {total} row(s) of '{key}' (keeping the {keep_last} newest per sample)"
        )
        if dry_run or to_delete == 0:
            out.data(document)
            out.text(f"would delete {what}" if dry_run else f"nothing to delete in '{key}'")
            return
        if not yes and not typer.confirm(f"Delete {what}? This cannot be undone.", err=True):
            out.data(document)
            out.message("nothing deleted", "warn")
            raise typer.Exit(ExitCode.FAILED)
        with out.working(f"deleting {to_delete} row(s) of '{key}'"):
            document["deleted"] = store.cleanup(cls, keep_last=keep_last)
    out.data(document)
    out.text(f"deleted {document['deleted']} row(s) of '{key}'", "ok")
