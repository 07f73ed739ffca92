"""Fixtures of the CLI tests: a project folder, the ``mxo`` runner, databases with data.

Every invocation runs in-process with typer's ``CliRunner`` inside its own isolated feature
graph (the CLI imports the feature modules and defines the features, as a real process does).
The project folder holds a ``pyproject.toml`` and a features module with two versions of the
example pipeline: ``v1`` and ``audio_v2`` (``video.audio`` at code version 2).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel
from typer.testing import CliRunner, Result

import metaxy_orm as mx
from example_app.pipeline import VideoPipeline, define_video_pipeline
from metaxy_orm.cli import app
from metaxy_orm.config import ENVIRONMENT
from metaxy_orm.testing import isolated_graph

FEATURES_MODULE = "mxo_test_features"
MODULE_SOURCE = """
from example_app.pipeline import define_video_pipeline


def v1():
    define_video_pipeline()


def audio_v2():
    define_video_pipeline({"video.audio": "2"})
"""

#: No colours, no terminal (the output is the plain text of a pipe), no settings from the
#: environment of whoever runs the tests.
PLAIN_ENV: dict[str, str | None] = {
    "FORCE_COLOR": None,
    "TTY_COMPATIBLE": None,
    "TTY_INTERACTIVE": None,
    "COLUMNS": "80",
    **dict.fromkeys(ENVIRONMENT.values()),
}

Mxo = Callable[..., Result]


@pytest.fixture
def project_dir(tmp_path: Path) -> Iterator[Path]:
    """A project: pyproject.toml pointing at the v1 pipeline, and the features module."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / f"{FEATURES_MODULE}.py").write_text(MODULE_SOURCE)
    (folder / "pyproject.toml").write_text(
        f'[tool.metaxy-orm]\nmodules = ["{FEATURES_MODULE}:v1"]\n'
    )
    saved = list(sys.path)
    yield folder
    sys.path[:] = saved
    sys.modules.pop(FEATURES_MODULE, None)


def invoke(
    args: list[str], *, input: str | None = None, env: dict[str, str | None] | None = None
) -> Result:
    """Run ``mxo`` in-process in a fresh feature graph (plain output)."""
    with isolated_graph():
        result = CliRunner().invoke(app, args, input=input, env={**PLAIN_ENV, **(env or {})})
    return refusal_raised(result)


@pytest.fixture
def mxo(project_dir: Path, database_url: str) -> Mxo:
    """``mxo(*args, version="v1"|"audio_v2")`` on the test's database and project."""

    def run(*args: str, version: str = "v1", input: str | None = None) -> Result:
        base = ["--config", str(project_dir / "pyproject.toml"), "--database-url", database_url]
        if version != "v1":
            base += ["--module", f"{FEATURES_MODULE}:{version}"]
        return invoke([*base, *args], input=input)

    return run


def refusal_raised(result: Result) -> Result:
    """The result, or the database's refusal by design raised again.

    The CLI turns a refused server (``UnsupportedDatabaseVersionError``) into exit code 3, as
    it should; raising it here lets the test database's ``xfail(raises=...)`` check that the
    command failed with exactly that refusal.
    """
    error: BaseException | None = result.exception
    while error is not None:
        if isinstance(error, mx.UnsupportedDatabaseVersionError):
            raise error
        error = error.__cause__ or error.__context__
    return result


def video_samples(n: int, edited: frozenset[int] = frozenset()) -> list[dict[str, str]]:
    return [
        {
            "sample_uid": f"s{i}",
            "metaxy_provenance__audio": f"audio-{i}-{'edited' if i in edited else 'orig'}",
            "metaxy_provenance__frames": f"frames-{i}",
        }
        for i in range(n)
    ]


def fill(database_url: str, *, n: int = 6, edited: frozenset[int] = frozenset()) -> None:
    """Tables and data of the v1 pipeline: every feature computed for ``n`` samples, then the
    audio of the ``edited`` samples changed at the root only (so crop and stt have stale rows).
    """
    with isolated_graph():
        pipeline = define_video_pipeline()
        engine = sa.create_engine(database_url)
        SQLModel.metadata.create_all(engine)
        with mx.MetadataStore(engine) as store:
            store.write(pipeline.video, store.resolve_update(pipeline.video, video_samples(n)).new)
            _propagate(store, pipeline)
            if edited:
                inc = store.resolve_update(pipeline.video, video_samples(n, edited))
                store.write(pipeline.video, inc.stale)
        engine.dispose()


def _propagate(store: mx.MetadataStore, pipeline: VideoPipeline) -> None:
    for feature in pipeline[1:]:
        todo = store.resolve_update(feature).to_compute
        if todo.height:
            store.write(feature, todo)
