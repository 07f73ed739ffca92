"""The pytest plugin, run as a user runs it: a small test file in a fresh pytest process.

The user's tests define the same feature with two code versions (one per test, through
``mx_graph``) and round-trip rows through ``mx_store``: on a temporary embedded database by
default, and on every test backend through ``--metaxy-database-url`` (and its environment
variable), where each test's tables must be dropped after it.
"""

from __future__ import annotations

import os
import tomllib
from importlib import import_module
from pathlib import Path

import pytest

from metaxy_orm.testing import plugin

pytest_plugins = ["pytester"]

PLUGIN = "metaxy_orm.testing.plugin"
PYPROJECT = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())

USER_TESTS = """
import polars as pl
import pytest
import sqlalchemy as sa

import metaxy_orm as mx


def define_video(code_version):
    class Video(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="video",
            id_columns=["sample_uid"],
            fields=[mx.FieldSpec(key="audio", code_version=code_version)],
        ),
    ):
        sample_uid: str

    return Video


SAMPLES = pl.DataFrame(
    {"sample_uid": ["a", "b", "c"], "metaxy_provenance__audio": ["1", "2", "3"]}
)


@pytest.mark.parametrize("code_version", ["1", "2"])
def test_each_version_round_trips(mx_graph, mx_engine, mx_store, code_version):
    Video = define_video(code_version)
    assert Video.feature_graph() is mx_graph is mx.FeatureGraph.get_active()
    mx.metadata_of(mx_graph).create_all(mx_engine)
    increment = mx_store.resolve_update(Video, samples=SAMPLES)
    assert increment.new.height == 3  # a fresh database, or the last test's tables dropped
    mx_store.write(Video, increment.new)
    stored = mx_store.read(Video)
    assert sorted(stored["sample_uid"]) == ["a", "b", "c"]
    assert set(stored["metaxy_feature_version"]) == {Video.feature_version()}


def test_versions_compared_side_by_side():
    with mx.FeatureGraph() as old:
        define_video("1")
    with mx.FeatureGraph() as new:
        define_video("2")
    assert old.feature_version("video") != new.feature_version("video")


def test_the_database_url(mx_database_url, tmp_path):
    print("\\nURL:", mx_database_url)


def test_zz_runs_last_no_table_left_behind(mx_engine):
    assert "video" not in sa.inspect(mx_engine).get_table_names()
"""


@pytest.fixture(autouse=True)
def no_configured_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's tests run on the database each test names, not on one of the environment."""
    monkeypatch.delenv(plugin.DATABASE_URL_ENV, raising=False)


def run_user_tests(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_user=USER_TESTS)
    return pytester.runpytest_subprocess("-p", PLUGIN, "-s", "-p", "no:cacheprovider", *args)


def test_two_versions_and_a_store_on_a_temporary_database(pytester: pytest.Pytester) -> None:
    result = run_user_tests(pytester)
    result.assert_outcomes(passed=5)
    (line,) = [ln for ln in result.outlines if "URL:" in ln]
    assert line.endswith("metaxy.duckdb")  # one file in the test's own temporary folder


@pytest.mark.only_backends("duckdb", "sqlite", "postgresql", "clickhouse")
def test_a_database_url_option(database_url: str, pytester: pytest.Pytester) -> None:
    """On a shared database, each test's tables are dropped after it (else the 2nd sees rows).

    ``database_url`` comes first: it is provisioned before pytester snapshots ``sys.modules``
    (modules imported after the snapshot are unloaded again, and re-importing a SQLAlchemy
    dialect warns).
    """
    result = run_user_tests(pytester, f"--metaxy-database-url={database_url}")
    result.assert_outcomes(passed=5)
    assert f"URL: {database_url}" in result.outlines


def test_a_database_url_from_the_environment(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    monkeypatch.setenv(plugin.DATABASE_URL_ENV, url)
    result = run_user_tests(pytester)
    result.assert_outcomes(passed=5)
    assert f"URL: {url}" in result.outlines


def test_the_documented_example_passes(pytester: pytest.Pytester) -> None:
    """docs/testing.md includes docs/snippets/test_video_pipeline.py: it must pass as shown."""
    snippet = Path(__file__).parents[1] / "docs" / "snippets" / "test_video_pipeline.py"
    pytester.makepyfile(test_video_pipeline=snippet.read_text())
    result = pytester.runpytest_subprocess("-p", PLUGIN, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_the_plugin_is_a_pytest11_entry_point() -> None:
    """Named after its module, so ``-p metaxy_orm.testing.plugin`` finds it already loaded."""
    entry_points = PYPROJECT["project"]["entry-points"]["pytest11"]
    assert entry_points == {PLUGIN: PLUGIN}
    module = import_module(PLUGIN)
    for fixture in ("mx_graph", "mx_database_url", "mx_engine", "mx_store"):
        assert hasattr(module, fixture)


def test_installed_the_plugin_loads_by_itself(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyproject's entry point, installed as pip installs it, makes pytest load the plugin.

    A distribution's metadata folder with pyproject's ``pytest11`` entry points is put on the
    path (pip writes the same file); the user's tests then run without ``-p``.
    """
    site = tmp_path / "site"
    info = site / "metaxy_orm_entry_points-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: metaxy-orm-entry-points\n")
    lines = [
        f"{name} = {value}"
        for name, value in PYPROJECT["project"]["entry-points"]["pytest11"].items()
    ]
    (info / "entry_points.txt").write_text("[pytest11]\n" + "\n".join(lines) + "\n")
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(site), path])))
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)
