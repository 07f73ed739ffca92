"""``mxo lookup KEY=VALUE...``: one sample across every feature, and why it is (not) up to date.

For each feature whose id columns the given keys cover: the sample's latest row (the one
definition of "latest", through :func:`metaxy_orm.latest`), and its state from the feature's
lazy increment filtered to this sample (the same SQL as ``resolve_update``): ``up to date``,
``new`` (expected, never computed), ``stale`` (with the fields whose provenance differs, or the
feature version it was written under), ``orphaned`` (its upstream sample is gone), or, for a
root feature, whether it was ingested and under which feature version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import sqlalchemy as sa
import typer
from sqlmodel import Session

from metaxy_orm._sql.statements import feature_table
from metaxy_orm.cli.errors import CliError, handle_errors
from metaxy_orm.cli.options import JsonOption
from metaxy_orm.cli.output import Output
from metaxy_orm.cli.project import project
from metaxy_orm.columns import FEATURE_VERSION, PROVENANCE, provenance_column
from metaxy_orm.latest import latest
from metaxy_orm.render.text import Line
from metaxy_orm.store import MetadataStore

if TYPE_CHECKING:
    from metaxy_orm.feature import Feature

__all__ = ["lookup"]


def _parse(pairs: list[str]) -> dict[str, str]:
    sample: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"'{pair}' is not KEY=VALUE (e.g. sample_uid=video-00001)")
        sample[key] = value
    return sample


def _typed(column: sa.Column[Any], value: str) -> Any:
    """The text of the command line in the column's Python type (ints stay ints)."""
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return value
    if python_type is str:
        return value
    try:
        return python_type(value)
    except (TypeError, ValueError) as exc:
        raise CliError(f"{column.name}={value!r}: not a valid {python_type.__name__}") from exc


def _first(conn: sa.Connection, select: sa.Select[Any], where: dict[str, Any]) -> Any:
    sub = select.subquery("__mx_lookup")
    stmt = sa.select(sub).where(*(sub.c[k] == v for k, v in where.items()))
    return conn.execute(stmt).mappings().first()


def _state(
    store: MetadataStore,
    conn: sa.Connection,
    feature: type[Feature],
    where: dict[str, Any],
    row: dict[str, Any] | None,
    code_version: str,
) -> dict[str, Any]:
    spec = feature.feature_spec()
    fields = sorted(str(f) for f in spec.field_keys)
    stored_version = None if row is None else row[FEATURE_VERSION]
    if not spec.deps:
        if row is None:
            return {"state": "absent", "reason": "not ingested (root feature)"}
        if stored_version != code_version:
            return {
                "state": "stale",
                "reason": f"written under feature version {stored_version}, the code is at "
                f"{code_version}",
            }
        return {
            "state": "stored",
            "reason": "ingested under the current feature version; its samples tell if it is "
            "up to date",
        }
    inc = store.resolve_update(feature, lazy=True)
    if row is None:
        if _first(conn, inc.new, where) is not None:
            return {"state": "new", "reason": "expected from upstream, never computed"}
        return {"state": "not expected", "reason": "no upstream row for this sample"}
    if _first(conn, inc.orphaned, where) is not None:
        return {"state": "orphaned", "reason": "stored, but its upstream sample is gone"}
    stale = _first(conn, inc.stale, where)
    if stale is None:
        return {"state": "up to date", "reason": ""}
    differs = [
        f
        for f in fields
        if stale[provenance_column(spec.field(f).key)] != row[provenance_column(spec.field(f).key)]
    ]
    if differs:
        reason = "inputs changed for field(s) " + ", ".join(differs)
    else:
        reason = f"written under feature version {stored_version}, the code is at {code_version}"
    return {"state": "stale", "reason": reason, "fields": differs}


_STYLE = {
    "up to date": "ok",
    "stored": "ok",
    "new": "changed",
    "stale": "changed",
    "orphaned": "removed",
    "absent": "warn",
    "not expected": "muted",
    "skipped": "muted",
}


@handle_errors()
def lookup(
    ctx: typer.Context,
    pairs: Annotated[
        list[str], typer.Argument(metavar="KEY=VALUE", help="Id column values of the sample.")
    ],
    json: JsonOption = False,
) -> None:
    """One sample across every feature: its latest row, versions, and up to date or why not."""
    out = Output(json_mode=json)
    sample = _parse(pairs)
    proj = project(ctx)
    unknown = sorted(set(sample) - {c for f in proj.graph for c in f.feature_spec().id_columns})
    if unknown:
        raise CliError(f"no feature has id column(s) {unknown}")
    results: list[dict[str, Any]] = []
    with proj.engine() as engine:
        store = proj.store(engine)
        features = list(proj.graph)
        with Session(engine) as session, out.progress("lookup", len(features)) as advance:
            conn = session.connection()
            for feature in features:
                key = str(feature.feature_key())
                spec = feature.feature_spec()
                table = feature_table(feature)
                code_version = proj.graph.feature_version(
                    key, hash_truncation_length=proj.config.hash_truncation_length
                )
                missing = [c for c in spec.id_columns if c not in sample]
                entry: dict[str, Any] = {"feature": key, "code_feature_version": code_version}
                if missing:
                    entry |= {"state": "skipped", "reason": f"needs {', '.join(missing)}="}
                    entry["row"] = None
                else:
                    where = {c: _typed(table.c[c], sample[c]) for c in spec.id_columns}
                    stmt = latest(feature).where(*(table.c[c] == v for c, v in where.items()))
                    found = session.exec(stmt).first()
                    row = (
                        None
                        if found is None
                        else {c.name: getattr(found, c.name) for c in table.columns}
                    )
                    entry["row"] = row
                    entry |= _state(store, conn, feature, where, row, code_version)
                results.append(entry)
                advance(key)
    out.data({"sample": sample, "features": results})
    lines: list[Line] = [
        (("sample ", "muted"), (", ".join(f"{k}={v}" for k, v in sample.items()), "field"))
    ]
    for entry in results:
        row = entry["row"]
        lines.append(())
        head: Line = (
            (entry["feature"], "feature"),
            ("  ", ""),
            (entry["state"], _STYLE[entry["state"]]),
        )
        if entry.get("reason"):
            head += (("  " + entry["reason"], "muted"),)
        lines.append(head)
        if row is not None:
            lines.append(
                (
                    ("  feature version ", "muted"),
                    (str(row[FEATURE_VERSION]), "version"),
                    (f"  (code {entry['code_feature_version']})", "muted"),
                    ("  provenance ", "muted"),
                    (str(row[PROVENANCE]), "version"),
                    (f"  written {row['metaxy_created_at']}", "muted"),
                )
            )
            own = {k: v for k, v in row.items() if not k.startswith("metaxy_") and v is not None}
            if own:
                lines.append((("  " + ", ".join(f"{k}={v}" for k, v in own.items()), ""),))
    out.lines(lines)
