"""Fixtures of the Alembic tests (the helpers they use live in ``alembic_helpers``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path

import pytest
from alembic_helpers import Project, make_project

import metaxy_orm as mx
from example_app.pipeline import define_video_pipeline
from metaxy_orm.testing import isolated_graph


@pytest.fixture
def define(graph: mx.FeatureGraph) -> Iterator[Callable[..., mx.FeatureGraph]]:
    """Define features in a brand-new active graph (and a cleared ``SQLModel.metadata``).

    ``define()`` builds the example pipeline, ``define({"crop.frames": "2"})`` a variant,
    ``define(factory=fn)`` whatever ``fn()`` defines. Calling it again replaces the code's
    graph, as editing the feature modules would.
    """
    with ExitStack() as stack:

        def _define(
            code_versions: Mapping[str, str] | None = None,
            *,
            factory: Callable[[], object] | None = None,
        ) -> mx.FeatureGraph:
            # The migrations' env.py reads SQLModel.metadata: build the tables there.
            fresh = stack.enter_context(isolated_graph())
            if factory is None:
                define_video_pipeline(code_versions)
            else:
                factory()
            return fresh

        yield _define


@pytest.fixture
def project(
    tmp_path: Path, database_url: str, backend: str, monkeypatch: pytest.MonkeyPatch
) -> Project:
    """A migrations folder on the test's backend."""
    return make_project(tmp_path, database_url, backend, monkeypatch)
