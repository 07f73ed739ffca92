"""The ``mxo`` application: the root options (configuration overrides) and the command tree."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from metaxy_orm import __version__
from metaxy_orm.cli.commands import check, cleanup, features, graph, lookup, snapshots, status
from metaxy_orm.cli.project import CliState

__all__ = ["app"]

app = typer.Typer(
    name="mxo",
    help="metaxy-orm: see the feature graph, its changes and the state of the data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
graph_app = typer.Typer(
    name="graph",
    help="The feature graph: draw it, compare versions of it, record it.",
    no_args_is_help=True,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mxo (metaxy-orm) {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="The pyproject.toml to read [tool.metaxy-orm] from "
            "(default: the nearest one from the working directory upward).",
            dir_okay=False,
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="Database URL (overrides METAXY_ORM_DATABASE_URL)."),
    ] = None,
    module: Annotated[
        list[str] | None,
        typer.Option(
            "--module",
            "-m",
            help="Module that defines the features, or module:function; repeatable "
            "(overrides METAXY_ORM_MODULES).",
        ),
    ] = None,
    hash_algorithm: Annotated[
        str | None, typer.Option("--hash-algorithm", help="md5, sha256, ...")
    ] = None,
    hash_truncation_length: Annotated[
        int | None, typer.Option("--hash-truncation-length", help="8 to 64.")
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """metaxy-orm: see the feature graph, its changes and the state of the data.

    Settings come from [tool.metaxy-orm] in pyproject.toml, then METAXY_ORM_* environment
    variables, then these options.
    """
    ctx.obj = CliState(
        pyproject=config,
        overrides={
            "database_url": database_url,
            "modules": tuple(module) if module else None,
            "hash_algorithm": hash_algorithm,
            "hash_truncation_length": hash_truncation_length,
        },
    )


app.command("list")(features.list_features)
app.add_typer(graph_app)
graph_app.command("render")(graph.render)
graph_app.command("diff")(graph.diff)
graph_app.command("push")(snapshots.push)
graph_app.command("history")(snapshots.history)
app.command("status")(status.status)
app.command("lookup")(lookup.lookup)
app.command("check")(check.check)
app.command("cleanup")(cleanup.cleanup)
app.command("config")(features.show_config)
