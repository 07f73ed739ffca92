"""``mxo graph push|history|diff``: recordings in the snapshots table, and what a change reaches."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from syrupy.assertion import SnapshotAssertion

from metaxy_orm.snapshots import latest_snapshot
from tests.conftest import missing_requirement

from .conftest import FEATURES_MODULE, Mxo, invoke


def test_push_records_once_and_history_lists(mxo: Mxo, database_url: str) -> None:
    first = mxo("graph", "push", "--json")
    assert first.exit_code == 0, first.output
    pushed = json.loads(first.stdout)
    assert pushed["recorded"] is True
    assert pushed["recording"] == 1
    again = json.loads(mxo("graph", "push", "--json").stdout)
    assert again == {**pushed, "recorded": False}
    assert "nothing written" in mxo("graph", "push").stdout

    bumped = json.loads(mxo("graph", "push", "--json", version="audio_v2").stdout)
    assert bumped["recorded"] is True
    assert bumped["recording"] == 2
    assert bumped["snapshot_version"] != pushed["snapshot_version"]

    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        recorded = latest_snapshot(conn)
    engine.dispose()
    assert recorded is not None
    assert recorded["snapshot_version"] == bumped["snapshot_version"]

    history = json.loads(mxo("graph", "history", "--json").stdout)
    assert history["code_snapshot_version"] == pushed["snapshot_version"]
    assert [r["recording"] for r in history["recordings"]] == [2, 1]
    assert [r["snapshot_version"] for r in history["recordings"]] == [
        bumped["snapshot_version"],
        pushed["snapshot_version"],
    ]
    assert all(r["features"] == 4 and r["recorded_at"] for r in history["recordings"])
    text = mxo("graph", "history").stdout
    assert "= code" in text.splitlines()[2]  # recording 1 is the code's (v1)


def test_history_of_an_empty_database(mxo: Mxo) -> None:
    result = mxo("graph", "history")
    assert result.exit_code == 0, result.output
    assert "mxo graph push" in result.stdout
    assert json.loads(mxo("graph", "history", "--json").stdout)["recordings"] == []


FORMATS = ["terminal", "mermaid", "dot", "json"]


def saved_v1(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """v1's snapshot as ``v1.json`` in the working directory (a diff end without a database)."""
    monkeypatch.chdir(project_dir)
    result = invoke(["graph", "render", "--json"])
    assert result.exit_code == 0, result.output
    (project_dir / "v1.json").write_text(result.stdout)


@pytest.mark.parametrize("fmt", FORMATS)
def test_diff_after_the_audio_bump_golden(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, snapshot: SnapshotAssertion
) -> None:
    saved_v1(project_dir, monkeypatch)
    args = ["--module", f"{FEATURES_MODULE}:audio_v2", "graph", "diff", "v1.json", "code"]
    result = invoke([*args, "--format", fmt])
    assert result.exit_code == 0, result.output
    assert result.stdout == snapshot


@pytest.mark.parametrize("fmt", FORMATS)
def test_diff_from_the_recorded_snapshot_is_the_same(
    mxo: Mxo, project_dir: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    saved_v1(project_dir, monkeypatch)
    assert mxo("graph", "push").exit_code == 0
    recorded = mxo("graph", "diff", "--format", fmt, version="audio_v2")
    assert recorded.exit_code == 0, recorded.output
    from_file = mxo("graph", "diff", "v1.json", "code", "--format", fmt, version="audio_v2")
    assert recorded.stdout == from_file.stdout.replace("file v1.json", "recording 1")


def test_diff_reaches_audio_and_not_frames(mxo: Mxo) -> None:
    mxo("graph", "push")
    document = json.loads(mxo("graph", "diff", "--json", version="audio_v2").stdout)
    assert json.loads(json.dumps(document)) == document
    assert document["from"] == "recording 1"
    assert document["to"] == "code"
    status = {
        f"{feature['feature']}.{field['field']}": field["status"]
        for feature in document["features"]
        for field in feature["fields"]
    }
    assert status == {
        "video.audio": "changed",
        "video.frames": "unchanged",
        "crop.audio": "reached",
        "crop.frames": "unchanged",
        "face_detection.faces": "unchanged",
        "stt.transcription": "reached",
    }
    assert document["not_reached"] == ["video.frames", "crop.frames", "face_detection.faces"]
    video = document["features"][0]["fields"][0]
    assert (video["old_code_version"], video["new_code_version"]) == ("1", "2")
    crop_audio = document["features"][1]["fields"][0]
    assert crop_audio["via"] == ["video.audio"]


def test_diff_between_recordings_and_refs(mxo: Mxo, tmp_path: Path) -> None:
    mxo("graph", "push")
    mxo("graph", "push", version="audio_v2")
    forward = json.loads(mxo("graph", "diff", "1", "2", "--json").stdout)
    by_ref = json.loads(mxo("graph", "diff", "latest~1", "latest", "--json").stdout)
    assert forward["features"] == by_ref["features"]
    assert forward["changed"] is True
    back = json.loads(mxo("graph", "diff", "2", "1", "--json").stdout)
    assert back["features"][0]["fields"][0]["new_code_version"] == "1"
    same = mxo("graph", "diff", "1", "code")  # the code is v1 again
    assert same.exit_code == 0
    assert "no changes" in same.stdout
    prefix = forward["new_snapshot_version"][:6]
    assert json.loads(mxo("graph", "diff", "1", prefix, "--json").stdout) == {
        **forward,
        "to": "recording 2",
    }
    # a JSON snapshot written by `graph render --json` is a valid end too
    saved = tmp_path / "v2.json"
    saved.write_text(mxo("graph", "render", "--json", version="audio_v2").stdout)
    from_file = json.loads(mxo("graph", "diff", "1", str(saved), "--json").stdout)
    assert from_file["features"] == forward["features"]


def test_diff_exit_codes(mxo: Mxo) -> None:
    nothing = mxo("graph", "diff", "--exit-code")  # nothing recorded: every feature is new
    assert nothing.exit_code == 1
    assert "added" in nothing.stdout
    mxo("graph", "push")
    assert mxo("graph", "diff", "--exit-code").exit_code == 0
    assert mxo("graph", "diff", "--exit-code", version="audio_v2").exit_code == 1
    unknown = mxo("graph", "diff", "7")
    assert unknown.exit_code == 2
    assert "there is no recording 7" in unknown.stderr
    assert mxo("graph", "diff", "latest~5").exit_code == 2


def test_added_and_removed_features_and_fields(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved_v1(project_dir, monkeypatch)
    full = json.loads((project_dir / "v1.json").read_text())
    smaller = {**full, "features": {k: v for k, v in full["features"].items() if k != "stt"}}
    crop = smaller["features"]["crop"]
    smaller["features"]["crop"] = {
        **crop,
        "field_versions": {"audio": crop["field_versions"]["audio"]},
        "spec": {**crop["spec"], "fields": crop["spec"]["fields"][:1]},
    }
    (project_dir / "smaller.json").write_text(json.dumps(smaller))
    grown = json.loads(invoke(["graph", "diff", "smaller.json", "v1.json", "--json"]).stdout)
    by_key = {f["feature"]: f for f in grown["features"]}
    assert by_key["stt"]["status"] == "added"
    assert by_key["crop"]["status"] == "changed"
    assert [(f["field"], f["status"]) for f in by_key["crop"]["fields"]] == [
        ("audio", "unchanged"),
        ("frames", "added"),
    ]
    shrunk = invoke(["graph", "diff", "v1.json", "smaller.json"])
    assert shrunk.exit_code == 0, shrunk.output
    assert "removed     stt" in shrunk.stdout
    assert "removed  frames" in shrunk.stdout
    assert "removed features: stt" in shrunk.stdout
    dot = shutil.which("dot")
    if dot is None:
        missing_requirement("graphviz's dot: `apt-get install -y graphviz`")
    assert dot is not None
    for args in (["v1.json", "smaller.json"], ["smaller.json", "v1.json"]):
        text = invoke(["graph", "diff", *args, "-f", "dot"]).stdout
        svg = subprocess.run([dot, "-Tsvg"], input=text, capture_output=True, text=True)
        assert svg.returncode == 0, svg.stderr
        assert not svg.stderr
    mermaid = invoke(["graph", "diff", "v1.json", "smaller.json", "-f", "mermaid"]).stdout
    assert "class F_crop___frames,F_stt___transcription,F_stt removed" in mermaid
