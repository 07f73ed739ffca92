"""Shared fixtures: backends, databases and an isolated feature graph per test.

Every database test takes the ``backend`` fixture and is run once per selected test database:
``--backends duckdb,sqlite,postgresql`` (or ``METAXY_ORM_TEST_BACKENDS``), all of them by
default. How each gets a fresh database lives with its backend
(``metaxy_orm/_backends/<name>/provision.py``): a temporary file, or a schema of its own on the
real PostgreSQL server at ``METAXY_ORM_POSTGRES_URL``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import metaxy_orm as mx
from metaxy_orm._backends import test_databases
from metaxy_orm.testing import isolated_graph

#: Test database name -> how to provision one; the names are also the pytest markers.
TEST_DATABASES = test_databases()
ALL_BACKENDS = tuple(TEST_DATABASES)


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
    """Run each test taking ``backend`` once per selected test database.

    ``@pytest.mark.only_backends("a", "b")`` limits a test to the backends a capability exists
    on (an asyncio driver, say): it is not generated for the others, rather than skipped.
    """
    if "backend" in metafunc.fixturenames:
        backends = selected_backends(metafunc.config)
        only = metafunc.definition.get_closest_marker("only_backends")
        if only is not None:
            backends = [b for b in backends if b in only.args]
        metafunc.parametrize("backend", [pytest.param(b, marks=_marks(b)) for b in backends])


def _marks(backend: str) -> list[pytest.MarkDecorator]:
    """The backend's marker, and what its provisioning says the backend refuses by design.

    A test that hits such a refusal must fail with exactly that error (so it is checked, not
    skipped); any other failure stays a failure, and a test that never meets it passes.
    """
    marks = [getattr(pytest.mark, backend)]
    refused = getattr(TEST_DATABASES[backend], "refused_by_design", None)
    if refused is not None:
        error, reason = refused
        marks.append(pytest.mark.xfail(raises=error, reason=reason, strict=False))
    return marks


#: How to start what a test database needs, for the message of a test that cannot reach it.
HOW_TO_START = {
    "postgresql": "start PostgreSQL on 127.0.0.1:5432 or set METAXY_ORM_POSTGRES_URL",
    "clickhouse_server": "start one with `.ci/clickhouse-server` or set METAXY_ORM_CLICKHOUSE_URL",
}


#: Test database -> why its server could not be reached (once per process).
UNREACHABLE: dict[str, str] = {}


def missing_requirement(what: str) -> None:
    """A server or program the test needs is missing: skip, saying how to get it; fail in CI.

    The README's test command then works on a machine without them, and CI (``CI=true``, which
    ``.ci/run`` provides everything for) can never pass by skipping.
    """
    if os.environ.get("CI"):
        pytest.fail(f"CI must provide this: {what}")
    pytest.skip(what)


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database of the backend, removed after the test."""
    if backend in UNREACHABLE:  # known from an earlier test of this process: do not wait again
        missing_requirement(UNREACHABLE[backend])
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(TEST_DATABASES[backend](tmp_path))
        except Exception as exc:  # a server backend whose server does not answer
            if backend not in HOW_TO_START:
                raise
            UNREACHABLE[backend] = f"no {backend} server ({exc}): {HOW_TO_START[backend]}"
            missing_requirement(UNREACHABLE[backend])
        yield url


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
