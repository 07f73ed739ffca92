"""The JSON API: ingest root samples, hand out pending work, accept results, read and inspect.

Per-feature routes are generated from the graph, so each feature's request and response
bodies are typed in the OpenAPI schema (its id and user columns; system columns only when a
client asks with ``system=true``).
"""

from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Body, FastAPI, HTTPException, Query, Request
from pydantic import BaseModel

import metaxy_orm as mx
from example_app import models
from example_app.graph_svg import state_of
from example_app.state import AppState
from metaxy_orm.columns import (
    RESERVED_PREFIX,
    changed_column,
    provenance_column,
)
from metaxy_orm.web import field_edges, latest_page, lookup, pending_page, update_root_samples

MAX_PAGE = 1000


def state(request: Request) -> AppState:
    app_state: AppState = request.app.state.metaxy
    return app_state


def _rows(payload: list[BaseModel]) -> list[dict[str, Any]]:
    return [row.model_dump() for row in payload]


def _ids(feature: type[mx.Feature], row: dict[str, Any]) -> dict[str, Any]:
    return {c: row[c] for c in feature.feature_spec().id_columns}


def feature_routes(router: APIRouter, feature: type[mx.Feature]) -> None:
    """Add the routes of one feature (root: ingestion; downstream: pending work and results)."""
    key = str(feature.feature_key())
    spec = feature.feature_spec()
    base = f"/features/{key}"
    row_model = models.row_model(feature)
    result_model = models.result_model(feature)
    row_page = type(
        f"{row_model.__name__}Page",
        (BaseModel,),
        {"__annotations__": {"total": int, "limit": int, "offset": int, "items": list[row_model]}},  # type: ignore[valid-type]
    )

    @router.get(
        f"{base}/rows",
        response_model=row_page,
        summary=f"Latest rows of {key}",
        operation_id=f"rows_{key}",
    )
    def rows(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
        system: bool = False,
    ) -> Any:
        page = latest_page(state(request).store, feature, limit=limit, offset=offset)
        items = []
        for row in page.rows.to_dicts():
            user = {k: v for k, v in row.items() if not k.startswith(RESERVED_PREFIX)}
            hidden = {k: v for k, v in row.items() if k.startswith(RESERVED_PREFIX)}
            items.append({**user, "system": hidden if system else None})
        return {"total": page.total, "limit": limit, "offset": offset, "items": items}

    if not spec.deps:

        @router.post(
            f"{base}/samples",
            response_model=models.IngestAnswer,
            summary=f"Ingest {key} samples",
            operation_id=f"ingest_{key}",
        )
        def ingest(
            request: Request,
            samples: Annotated[list[result_model], Body(min_length=1)],  # type: ignore[valid-type]
            mode: Literal["merge", "replace"] = "merge",
        ) -> Any:
            """Write the samples that are new or changed.

            ``merge`` (default): the batch adds or updates these samples and says nothing about
            the others. ``replace``: the batch is the complete list, and stored samples missing
            from it are reported as orphaned (nothing is deleted: the store is append-only).
            """
            store = state(request).store
            rows = _rows(samples)
            if mode == "merge":
                inc = update_root_samples(store, feature, rows)
            else:
                inc = store.resolve_update(feature, samples=rows)
            written = store.write(feature, inc.to_compute)
            return models.IngestAnswer(
                feature=key,
                mode=mode,
                new=inc.new.height,
                stale=inc.stale.height,
                orphaned=inc.orphaned.height,
                written=written,
            )

        return

    flags = {str(f): changed_column(spec.field(f).key) for f in spec.field_keys}
    provenance = {str(f): provenance_column(spec.field(f).key) for f in spec.field_keys}
    selected = [dep.output_name(c) for dep in spec.deps for c in dep.select]

    @router.get(
        f"{base}/pending",
        response_model=models.PendingPage,
        summary=f"Pending work of {key}",
        operation_id=f"pending_{key}",
    )
    def pending(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Any:
        """New and stale samples, ordered by id; ``changed_fields`` says what to recompute."""
        page = pending_page(state(request).store, feature, limit=limit, offset=offset)
        items = [
            models.PendingItem(
                ids=_ids(feature, row),
                status=row["status"],
                changed_fields=sorted(f for f, flag in flags.items() if row[flag]),
                provenance={f: row[c] for f, c in provenance.items()},
                upstream={c: row[c] for c in selected},
            )
            for row in page.rows.to_dicts()
        ]
        return models.PendingPage(
            feature=key, total=page.total, limit=limit, offset=offset, items=items
        )

    @router.post(
        f"{base}/results",
        response_model=models.Written,
        summary=f"Post computed {key} rows",
        operation_id=f"results_{key}",
    )
    def results(
        request: Request,
        rows: Annotated[list[result_model], Body(min_length=1)],  # type: ignore[valid-type]
    ) -> Any:
        """Append computed rows (all or none), with the provenance the pending work gave."""
        return models.Written(feature=key, written=state(request).store.write(feature, _rows(rows)))


def build_router(app_state: AppState) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["metaxy"])
    for feature in app_state.features.values():
        feature_routes(router, feature)

    @router.get("/graph", response_model=models.GraphModel, summary="The feature graph")
    def graph(request: Request) -> Any:
        st = state(request)
        g = st.graph
        features = []
        for key, feature in st.features.items():
            spec = feature.feature_spec()
            versions = feature.field_versions()
            features.append(
                models.FeatureInfo(
                    key=key,
                    version=feature.feature_version(),
                    id_columns=list(spec.id_columns),
                    deps=[str(d.feature) for d in spec.deps],
                    fields=[
                        models.FieldInfo(
                            key=str(f),
                            code_version=spec.field(f).code_version,
                            version=versions[str(f)],
                            deps=[f"{p}.{pf}" for p, pf in g.parent_fields(key, f)],
                        )
                        for f in sorted(spec.field_keys, key=str)
                    ],
                    columns=[c.name for c in models.user_columns(feature)],
                )
            )
        edges = [models.FieldEdgeModel(**vars(e)) for e in field_edges(g)]
        return models.GraphModel(
            snapshot_version=g.snapshot_version, features=features, field_edges=edges
        )

    @router.get("/status", response_model=list[models.StatusItem], summary="Per-feature status")
    def status(request: Request) -> Any:
        return [
            models.StatusItem(**s.to_dict(), state=state_of(s))
            for s in state(request).statuses().values()
        ]

    @router.get(
        "/samples",
        response_model=dict[str, dict[str, Any] | None],
        summary="One sample across all features",
    )
    def sample(request: Request, sample_uid: str) -> Any:
        """The latest row of the sample in each feature keyed by ``sample_uid``."""
        st = state(request)
        found = lookup(st.store, st.graph, {"sample_uid": sample_uid})
        if all(v is None for v in found.values()):
            raise HTTPException(404, f"no feature holds sample_uid={sample_uid!r}")
        return {
            k: None
            if v is None
            else {c: x for c, x in v.items() if not c.startswith(RESERVED_PREFIX)}
            for k, v in found.items()
        }

    @router.get("/diff", response_model=models.DiffModel, summary="Code graph vs last snapshot")
    def diff(request: Request) -> Any:
        recorded, d = state(request).diff()
        return diff_model(recorded, d)

    @router.post("/snapshots", response_model=models.Recorded, summary="Record the code's graph")
    def record(request: Request) -> Any:
        version, written = state(request).record()
        return models.Recorded(snapshot_version=version, recorded=written)

    return router


def diff_model(recorded: str | None, diff: Any) -> models.DiffModel:
    return models.DiffModel(
        recorded_snapshot_version=recorded,
        code_snapshot_version=diff.new_snapshot_version,
        changed=bool(diff),
        features=[
            models.FeatureChangeModel(
                feature=c.feature,
                old_version=c.old_version,
                new_version=c.new_version,
                spec_changed=c.spec_changed,
                fields=[
                    models.FieldChangeModel(
                        field=f.field,
                        old_version=f.old_version,
                        new_version=f.new_version,
                        old_code_version=f.old_code_version,
                        new_code_version=f.new_code_version,
                        description=f.describe(),
                    )
                    for f in c.fields
                ],
                description=c.describe(),
            )
            for c in diff.features
        ],
    )


def install_error_handlers(app: FastAPI) -> None:
    """Library errors become HTTP answers carrying the library's message."""
    from fastapi.responses import JSONResponse

    @app.exception_handler(mx.FeatureNotFoundError)
    async def not_found(request: Request, exc: mx.FeatureNotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(mx.DatabaseLockedError)
    async def locked(request: Request, exc: mx.DatabaseLockedError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(sa.exc.DataError)
    async def refused(request: Request, exc: sa.exc.DataError) -> JSONResponse:
        # The database refused a value the checks let through (e.g. a float beyond a REAL
        # column's range): the client's data, not a server fault. Nothing was written.
        message = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
        return JSONResponse(
            {"detail": f"the database refused a value: {message}; nothing was written"},
            status_code=422,
        )

    @app.exception_handler(mx.MetaxyError)
    async def invalid(request: Request, exc: mx.MetaxyError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)
