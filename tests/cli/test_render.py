"""``mxo graph render`` and ``mxo list``: golden outputs in every format, valid DOT, JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from example_app.pipeline import define_video_pipeline
from metaxy_orm.snapshots import diff_snapshots, graph_snapshot
from metaxy_orm.testing import isolated_graph
from tests.conftest import missing_requirement

from .conftest import invoke


def config_args(project_dir: Path) -> list[str]:
    return ["--config", str(project_dir / "pyproject.toml")]


@pytest.mark.parametrize("fmt", ["terminal", "mermaid", "dot", "json"])
def test_render_golden(project_dir: Path, fmt: str, snapshot: SnapshotAssertion) -> None:
    result = invoke([*config_args(project_dir), "graph", "render", "--format", fmt])
    assert result.exit_code == 0, result.output
    assert result.stdout == snapshot
    assert "\x1b[" not in result.stdout  # plain when not on a terminal


def test_render_neighbourhood(project_dir: Path, snapshot: SnapshotAssertion) -> None:
    args = [*config_args(project_dir), "graph", "render", "--feature", "crop", "--up", "0"]
    result = invoke([*args, "--format", "mermaid"])
    assert result.exit_code == 0, result.output
    assert "F_video" not in result.stdout  # upstream cut off
    assert "F_face_detection___faces" in result.stdout
    assert result.stdout == snapshot
    text = invoke(args).stdout
    assert "video.audio (not shown)" in text
    one_down = invoke([*config_args(project_dir), "graph", "render", "--feature", "video"])
    assert "face_detection" in one_down.stdout
    limited = invoke(
        [*config_args(project_dir), "graph", "render", "--feature", "video", "--down", "1"]
    )
    assert "face_detection" not in limited.stdout


def test_render_unknown_feature_is_a_usage_error(project_dir: Path) -> None:
    result = invoke([*config_args(project_dir), "graph", "render", "--feature", "nope"])
    assert result.exit_code == 2
    assert "feature 'nope' is not in this graph" in result.stderr
    assert "video" in result.stderr  # the known features are listed
    assert "Traceback" not in result.output


def test_render_json_round_trips_as_a_snapshot(project_dir: Path) -> None:
    result = invoke([*config_args(project_dir), "graph", "render", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert json.loads(json.dumps(document)) == document
    with isolated_graph() as graph:
        define_video_pipeline()
        code = graph_snapshot(graph)
    assert not diff_snapshots(document, code)  # it *is* the code's snapshot
    assert document["snapshot_version"] == code["snapshot_version"]
    crop = next(n for n in document["nodes"] if n["key"] == "crop")
    assert {f["key"]: f["parents"] for f in crop["fields"]} == {
        "audio": ["video.audio"],
        "frames": ["video.frames"],
    }
    assert crop["version"] == code["features"]["crop"]["feature_version"]


def test_dot_is_valid_for_graphviz(project_dir: Path, tmp_path: Path) -> None:
    dot = shutil.which("dot")
    if dot is None:
        missing_requirement("graphviz's dot: `apt-get install -y graphviz`")
    assert dot is not None
    for args in (
        ["graph", "render", "--format", "dot"],
        ["graph", "diff", "code", "code", "-f", "dot"],
    ):
        result = invoke([*config_args(project_dir), *args])
        assert result.exit_code == 0, result.output
        svg = subprocess.run(
            [dot, "-Tsvg"], input=result.stdout, capture_output=True, text=True, check=False
        )
        assert svg.returncode == 0, svg.stderr
        assert not svg.stderr, svg.stderr  # no warnings either
        assert "<svg" in svg.stdout
        assert "crop.audio" in svg.stdout


def test_list_golden_and_json(project_dir: Path, snapshot: SnapshotAssertion) -> None:
    result = invoke([*config_args(project_dir), "list"])
    assert result.exit_code == 0, result.output
    assert result.stdout == snapshot
    document = json.loads(invoke([*config_args(project_dir), "list", "--json"]).stdout)
    assert [f["key"] for f in document["features"]] == ["video", "crop", "face_detection", "stt"]
    assert document["features"][0]["table"] == "video"


def test_no_modules_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.metaxy-orm]\n")
    result = invoke(["--config", str(tmp_path / "pyproject.toml"), "list", "--json"])
    assert result.exit_code == 2
    assert "METAXY_ORM_MODULES" in result.stderr
    document = json.loads(result.stdout)
    assert document["error"]["type"] == "ConfigError"
