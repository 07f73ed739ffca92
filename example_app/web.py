"""The example web backend: FastAPI + SQLModel over the video pipeline, with its dashboard.

    python -m example_app.web [--host 127.0.0.1] [--port 8000]
    uvicorn example_app.web:app

The database is ``$METAXY_ORM_DATABASE_URL`` (e.g. ``postgresql+psycopg://user@host/db``), or an
embedded DuckDB file ``example_app.duckdb``. DuckDB allows one process per file: run one
uvicorn worker on it (use PostgreSQL for several).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

import metaxy_orm as mx
from example_app.api import build_router, install_error_handlers
from example_app.dashboard import build_dashboard
from example_app.state import AppState
from metaxy_orm.config import load_config

DEFAULT_URL = "duckdb:///example_app.duckdb"


def database_url() -> str:
    """The database the app serves: metaxy-orm's configuration, as ``mxo`` reads it.

    ``$METAXY_ORM_DATABASE_URL``, else ``database_url`` of ``[tool.metaxy-orm]`` in the nearest
    ``pyproject.toml``, else a DuckDB file of its own.
    """
    return load_config().database_url or DEFAULT_URL


def create_app(url: str | None = None, *, graph: mx.FeatureGraph | None = None) -> FastAPI:
    """The app over ``graph`` (default: the classes of :mod:`example_app.features`).

    The database is opened (and the tables created) right away, so that a locked or unreachable
    database fails here rather than on the first request.
    """
    if graph is None:
        from example_app.features import Video

        graph = Video.feature_graph()
    app_state = AppState.open(url or database_url(), graph)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app_state.close()

    app = FastAPI(
        title="metaxy-orm video pipeline",
        description="Ingest samples, hand out pending work, accept results, inspect the graph.",
        version=mx.__version__,
        lifespan=lifespan,
    )
    app.state.metaxy = app_state
    install_error_handlers(app)
    app.include_router(build_router(app_state))
    app.include_router(build_dashboard())
    return app


def __getattr__(name: str) -> Any:
    # `uvicorn example_app.web:app` builds the app on first access, not at import, so that
    # importing this module (tests, tools) neither defines features nor opens a database.
    if name == "app":
        globals()["app"] = built = create_app()
        return built
    raise AttributeError(name)


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--database", default=None, help="database URL (default: see above)")
    args = parser.parse_args(argv)
    try:
        app = create_app(args.database)
    except mx.DatabaseLockedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    uvicorn.run(app, host=args.host, port=args.port, workers=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
