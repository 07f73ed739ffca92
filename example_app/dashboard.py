"""The dashboard: HTML pages rendered on the server, no CDN, no JavaScript library.

``/`` shows the graph (field-level edges, features coloured by state, counts) and refreshes it
every few seconds with a ``fetch()`` of ``/dashboard/graph.svg``; ``/features/{key}`` shows a
feature's fields, versions, recent rows and what changed since the last recorded snapshot;
``/diff`` shows the whole diff (e.g. after a code-version bump).
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from example_app import graph_svg
from example_app.api import state
from example_app.models import user_columns
from metaxy_orm.web import latest_page

STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#1f2933;background:#fafbfc}
header{background:#1f2933;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:center}
header a{color:#cbd5e1;text-decoration:none}header h1{font-size:18px;margin:0 16px 0 0}
main{padding:16px 24px}table{border-collapse:collapse;margin:8px 0 20px}
td,th{border:1px solid #d9e2ec;padding:4px 10px;text-align:left;font-size:13px}
th{background:#eef2f7}.legend span{display:inline-block;padding:2px 8px;margin-right:8px;
border-radius:4px;font-size:12px;border:2px solid}code{font-size:12px}
.changed{color:#b45309}
"""

POLL = """
<script>
async function refresh(){
  try{
    const r=await fetch('/dashboard/overview',{cache:'no-store'});
    if(r.ok){document.getElementById('overview').innerHTML=await r.text();}
  }catch(e){}
}
setInterval(refresh,3000);
</script>
"""


def page(title: str, body: str, script: str = "") -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><header><h1>metaxy-orm</h1>"
        "<a href='/'>graph</a><a href='/diff'>diff</a><a href='/docs'>API</a></header>"
        f"<main>{body}</main>{script}</body></html>"
    )


def table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape('—' if v is None else str(v))}</td>" for v in row) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def change_items(lines: list[str]) -> str:
    """One feature's change: its headline, and its fields as a nested list."""
    head, fields = lines[0], [line.strip() for line in lines[1:]]
    nested = "".join(f"<li>{escape(f)}</li>" for f in fields)
    return (
        f"<li class='changed'>{escape(head)}" + (f"<ul>{nested}</ul>" if nested else "") + "</li>"
    )


def legend() -> str:
    spans = "".join(
        f"<span style='background:{fill};border-color:{stroke}'>{label}</span>"
        for fill, stroke, label in graph_svg.COLOURS.values()
    )
    return f"<p class='legend'>{spans}</p>"


def build_dashboard() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/dashboard/graph.svg")
    def graph_image(request: Request) -> Response:
        st = state(request)
        return Response(graph_svg.render(st.graph, st.statuses()), media_type="image/svg+xml")

    def overview(request: Request) -> str:
        """The graph and the status table: what the index shows and its poll refreshes."""
        st = state(request)
        statuses = st.statuses()
        rows = [
            [
                s.feature,
                graph_svg.COLOURS[graph_svg.state_of(s)][2],
                s.rows,
                s.samples,
                s.new,
                s.stale,
                s.orphaned,
            ]
            for s in statuses.values()
        ]
        return (
            f"<div id='graph-box'>{graph_svg.render(st.graph, statuses)}</div><h2>Status</h2>"
            + table(["feature", "state", "rows", "samples", "new", "stale", "orphaned"], rows)
        )

    @router.get("/dashboard/overview", response_class=HTMLResponse)
    def overview_fragment(request: Request) -> HTMLResponse:
        return HTMLResponse(overview(request))

    @router.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        st = state(request)
        body = (
            f"<h2>Feature graph <small><code>{st.graph.snapshot_version}</code></small></h2>"
            f"{legend()}<div id='overview'>{overview(request)}</div>"
        )
        return page("metaxy-orm dashboard", body, POLL)

    @router.get("/features/{key}", response_class=HTMLResponse)
    def feature_page(request: Request, key: str) -> HTMLResponse:
        st = state(request)
        feature = st.feature(key)
        spec = feature.feature_spec()
        versions = feature.field_versions()
        fields = [
            [
                str(f),
                spec.field(f).code_version,
                versions[str(f)],
                ", ".join(f"{p}.{pf}" for p, pf in st.graph.parent_fields(key, f)) or "-",
            ]
            for f in sorted(spec.field_keys, key=str)
        ]
        status = st.statuses()[key]
        recent = latest_page(st.store, feature, limit=20, newest_first=True)
        columns = [c.name for c in user_columns(feature)]
        columns += ["metaxy_feature_version", "metaxy_created_at"]
        recent_rows = [[row[c] for c in columns] for row in recent.rows.to_dicts()]
        _, diff = st.diff()
        change = next((c for c in diff.features if c.feature == key), None)
        changed = (
            "<p>No change since the last recorded snapshot.</p>"
            if change is None
            else f"<ul>{change_items(change.describe())}</ul>"
        )
        body = (
            f"<h2>{escape(key)}</h2><p>version <code>{feature.feature_version()}</code>, "
            f"id columns {escape(', '.join(spec.id_columns))}, upstream "
            f"{escape(', '.join(str(d.feature) for d in spec.deps) or '-')}</p>"
            + table(
                ["state", "rows", "samples", "new", "stale", "orphaned"],
                [
                    [
                        graph_svg.COLOURS[graph_svg.state_of(status)][2],
                        status.rows,
                        status.samples,
                        status.new,
                        status.stale,
                        status.orphaned,
                    ]
                ],
            )
            + "<h3>Fields</h3>"
            + table(["field", "code version", "version", "reads"], fields)
            + "<h3>What changed in the last snapshot</h3>"
            + changed
            + f"<h3>Recently written ({recent.total} samples)</h3>"
            + table(columns, recent_rows)
        )
        return page(f"{key} - metaxy-orm", body)

    @router.get("/diff", response_class=HTMLResponse)
    def diff_page(request: Request) -> HTMLResponse:
        recorded, diff = state(request).diff()
        if not diff:
            body = (
                f"<h2>Diff</h2><p>The code's graph equals the last recorded snapshot "
                f"<code>{escape(str(recorded))}</code>.</p>"
            )
        else:
            lines = "".join(change_items(c.describe()) for c in diff.features)
            body = (
                "<h2>Diff: last recorded snapshot → code</h2>"
                f"<p>graph snapshot <code>{escape(str(recorded))}</code> → "
                f"<code>{escape(diff.new_snapshot_version)}</code></p>"
                f"<ul>{lines}</ul><p>Record the code's graph with "
                "<code>POST /api/snapshots</code> once the changes are migrated.</p>"
            )
        return page("diff - metaxy-orm", body)

    return router
