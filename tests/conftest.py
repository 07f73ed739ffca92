"""Shared fixtures: backends, databases and an isolated feature graph per test.

Every database test takes the ``backend`` fixture and is run once per selected backend:
``--backends duckdb,sqlite,postgresql`` (or ``METAXY_ORM_TEST_BACKENDS``), all of them by
default. PostgreSQL is the real server at ``METAXY_ORM_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); each test gets its own schema.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import metaxy_orm as mx
from metaxy_orm.testing import isolated_graph

ALL_BACKENDS = ("duckdb", "sqlite", "postgresql")
POSTGRES_URL = os.environ.get(
    "METAXY_ORM_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backends",
        default=os.environ.get("METAXY_ORM_TEST_BACKENDS", ",".join(ALL_BACKENDS)),
        help="comma-separated backends to test: " + ", ".join(ALL_BACKENDS),
    )


def selected_backends(config: pytest.Config) -> list[str]:
    names = [b.strip() for b in str(config.getoption("--backends")).split(",") if b.strip()]
    unknown = sorted(set(names) - set(ALL_BACKENDS))
    if unknown:
        raise pytest.UsageError(f"unknown backend(s) {unknown}; choose from {ALL_BACKENDS}")
    return names


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        backends = selected_backends(metafunc.config)
        metafunc.parametrize(
            "backend", [pytest.param(b, marks=getattr(pytest.mark, b)) for b in backends]
        )


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database of the backend, removed after the test."""
    if backend == "duckdb":
        yield f"duckdb:///{tmp_path / 'meta.duckdb'}"
    elif backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'meta.sqlite'}"
    elif backend == "postgresql":
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        url = sa.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        try:
            yield url.render_as_string(hide_password=False)
        finally:
            with admin.begin() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
            admin.dispose()
    else:  # pragma: no cover - guarded by selected_backends
        raise AssertionError(backend)


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    eng = sa.create_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture(autouse=True)
def graph() -> Iterator[mx.FeatureGraph]:
    """A fresh active graph, and SQLModel's metadata emptied before and after each test."""
    with isolated_graph() as fresh:
        yield fresh
