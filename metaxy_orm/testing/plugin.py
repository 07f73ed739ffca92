"""The pytest plugin of metaxy-orm: an isolated feature graph and a store per test.

Registered as a ``pytest11`` entry point, so pytest loads it in any environment where
metaxy-orm is installed; nothing happens unless a test asks for one of its fixtures:

``mx_graph``
    A fresh :class:`~metaxy_orm.graph.FeatureGraph`, active for the test. Features the test
    defines register in it, and their tables are built in its own ``MetaData``
    (``mx.metadata_of(mx_graph)``), so every test can define the same features again, with
    other code versions, without clearing anything global.
``mx_database_url``
    The test database: ``--metaxy-database-url`` on the command line, else
    ``$METAXY_ORM_TEST_DATABASE_URL``, else a new embedded database file in the test's
    temporary folder (one per test: nothing to clean up).
``mx_engine``
    A SQLAlchemy engine on it, disposed after the test. On a database given by URL (shared by
    every test of the run), the tables of ``mx_graph``'s features are dropped after the test,
    so the next test starts without them; tables of features imported from your package (the
    default graph, ``SQLModel.metadata``) are yours to drop.
``mx_store``
    A :class:`~metaxy_orm.store.MetadataStore` on ``mx_engine``.

Names start with ``mx_`` so that they do not clash with a project's own ``engine`` or ``graph``
fixtures.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from metaxy_orm._backends import EMBEDDED_DEFAULT_URL
from metaxy_orm.graph import FeatureGraph
from metaxy_orm.graph_tables import metadata_of
from metaxy_orm.store import MetadataStore

__all__ = [
    "DATABASE_URL_ENV",
    "DATABASE_URL_OPTION",
    "mx_database_url",
    "mx_engine",
    "mx_graph",
    "mx_store",
]

#: The command-line option naming the test database.
DATABASE_URL_OPTION = "--metaxy-database-url"
#: The environment variable naming it, when the option is not given. Deliberately not
#: ``METAXY_ORM_DATABASE_URL`` (the application's database): tests drop tables.
DATABASE_URL_ENV = "METAXY_ORM_TEST_DATABASE_URL"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("metaxy-orm")
    group.addoption(
        DATABASE_URL_OPTION,
        default=None,
        metavar="URL",
        help=(
            "database of the mx_store/mx_engine fixtures (a database for tests only: the "
            f"tables of each test's mx_graph are dropped after it); default ${DATABASE_URL_ENV}"
            ", else a temporary embedded database file per test"
        ),
    )


def _configured_url(config: pytest.Config) -> str | None:
    url = config.getoption(DATABASE_URL_OPTION) or os.environ.get(DATABASE_URL_ENV)
    return str(url) if url else None


@pytest.fixture
def mx_graph() -> Iterator[FeatureGraph]:
    """A fresh feature graph (with its own tables' ``MetaData``), active during the test."""
    with FeatureGraph() as graph:
        yield graph


@pytest.fixture
def mx_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The configured test database's URL, or a new embedded database file of this test."""
    configured = _configured_url(request.config)
    if configured is not None:
        return configured
    embedded = sa.make_url(EMBEDDED_DEFAULT_URL).set(database=str(tmp_path / "metaxy.duckdb"))
    return embedded.render_as_string(hide_password=False)


@pytest.fixture
def mx_engine(request: pytest.FixtureRequest, mx_database_url: str) -> Iterator[sa.Engine]:
    """An engine on the test database; on a shared one, ``mx_graph``'s tables dropped after."""
    # Set up the graph first (when the test uses it) so that it is still there at teardown.
    graph = request.getfixturevalue("mx_graph") if "mx_graph" in request.fixturenames else None
    engine = sa.create_engine(mx_database_url)
    try:
        yield engine
        if graph is not None and _configured_url(request.config) is not None:
            metadata_of(graph).drop_all(engine, checkfirst=True)
    finally:
        engine.dispose()


@pytest.fixture
def mx_store(mx_engine: sa.Engine) -> Iterator[MetadataStore]:
    """A metadata store on the test database."""
    with MetadataStore(mx_engine) as store:
        yield store
