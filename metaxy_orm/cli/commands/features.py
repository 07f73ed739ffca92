"""``mxo list`` (the features) and ``mxo config`` (the settings and where they came from)."""

from __future__ import annotations

import typer

from metaxy_orm._sql.statements import feature_table
from metaxy_orm.cli.errors import handle_errors
from metaxy_orm.cli.options import JsonOption
from metaxy_orm.cli.output import Output
from metaxy_orm.cli.project import project
from metaxy_orm.config import load_config
from metaxy_orm.render.model import GraphView
from metaxy_orm.render.text import Span, table_lines

__all__ = ["list_features", "show_config"]


@handle_errors()
def list_features(ctx: typer.Context, json: JsonOption = False) -> None:
    """List the features: version, table, id columns, upstream features and fields."""
    out = Output(json_mode=json)
    proj = project(ctx)
    view = GraphView.from_snapshot(proj.snapshot)
    tables = {
        str(k): feature_table(proj.graph.get_feature(k)).name
        for k in proj.graph.topological_order()
    }
    document = view.to_dict()
    for feature in document["features"]:
        feature["table"] = tables[feature["key"]]
    out.data(document)
    rows: list[list[Span | str]] = [
        [
            (f.key, "feature"),
            (f.version, "version"),
            tables[f.key],
            ", ".join(f.id_columns),
            ", ".join(f.upstream) or "-",
            ", ".join(f"{x.key}={x.version}" for x in f.fields),
        ]
        for f in view.features
    ]
    out.lines(table_lines(["feature", "version", "table", "ids", "upstream", "fields"], rows))


@handle_errors()
def show_config(ctx: typer.Context, json: JsonOption = False) -> None:
    """Show the resolved settings and where each one comes from."""
    from metaxy_orm.cli.project import CliState

    out = Output(json_mode=json)
    state = ctx.find_object(CliState) or CliState()
    config = load_config(pyproject=state.pyproject, overrides=state.overrides)
    document = config.to_dict()
    out.data(document)
    rows: list[list[Span | str]] = [
        [(name, "field"), str(value), (document["origins"][name], "muted")]
        for name, value in (
            ("modules", ", ".join(config.modules) or "(none)"),
            ("database_url", document["database_url"] or "(none)"),
            ("hash_algorithm", config.hash_algorithm.value),
            ("hash_truncation_length", config.hash_truncation_length),
        )
    ]
    out.lines(table_lines(["setting", "value", "from"], rows))
