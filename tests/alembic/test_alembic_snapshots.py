"""``metaxy_orm.snapshots``: recording, reading and comparing graph snapshots."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel
from sqlmodel.main import default_registry

import metaxy_orm as mx
from example_app.pipeline import define_video_pipeline
from metaxy_orm.snapshots import (
    SNAPSHOTS_TABLE,
    GraphSnapshot,
    SnapshotError,
    create_snapshots_table,
    diff_snapshots,
    graph_snapshot,
    latest_snapshot,
    load_snapshot,
    parse_snapshot,
    record_snapshot,
    remove_snapshot,
    snapshot_history,
    snapshots_equal,
    snapshots_table,
)


def pipeline_snapshot(code_versions: dict[str, str] | None = None) -> GraphSnapshot:
    """The example pipeline's snapshot, defined in a throwaway graph."""
    SQLModel.metadata.clear()
    default_registry.dispose()
    with mx.FeatureGraph() as graph:
        define_video_pipeline(code_versions)
        return graph_snapshot(graph)


def recordings(connection: sa.Connection) -> list[tuple[int, str]]:
    t = snapshots_table
    query = sa.select(t.c.recording, t.c.snapshot_version).distinct().order_by(t.c.recording)
    return [(int(r), str(v)) for r, v in connection.execute(query)]


# -- pure: snapshots and their differences ----------------------------------------------------


def test_graph_snapshot_is_the_graph_snapshot(graph: mx.FeatureGraph) -> None:
    """``FeatureGraph.snapshot()`` returns the snapshot model itself, truncation included."""
    define_video_pipeline()
    snapshot = graph_snapshot(graph)
    assert snapshot == graph.snapshot()
    assert snapshot["hash_truncation_length"] == 8
    assert parse_snapshot(json.loads(json.dumps(snapshot))) == snapshot  # JSON-ready
    assert snapshot["snapshot_version"] == graph.snapshot_version
    longer = graph_snapshot(graph, hash_truncation_length=16)
    assert longer["hash_truncation_length"] == 16
    assert len(longer["snapshot_version"]) == 16


def test_diff_of_a_code_version_bump() -> None:
    old, new = pipeline_snapshot(), pipeline_snapshot({"crop.frames": "2"})
    diff = diff_snapshots(old, new)
    assert diff
    assert (diff.old_snapshot_version, diff.new_snapshot_version) == (
        old["snapshot_version"],
        new["snapshot_version"],
    )
    assert diff.added == diff.removed == ()
    crop, faces = diff.changed
    assert crop.feature == "crop"
    assert (crop.old_version, crop.new_version) == (
        old["features"]["crop"]["feature_version"],
        new["features"]["crop"]["feature_version"],
    )
    (frames,) = crop.changed_fields
    assert (frames.field, frames.old_code_version, frames.new_code_version) == ("frames", "1", "2")
    assert not crop.spec_changed  # only a code version moved
    assert faces.feature == "face_detection"
    (faces_field,) = faces.fields
    assert faces_field.old_code_version == faces_field.new_code_version == "1"
    assert diff.describe() == [
        f"graph snapshot {old['snapshot_version']} -> {new['snapshot_version']}",
        f"feature crop: version {crop.old_version} -> {crop.new_version}",
        f"  field frames: code version 1 -> 2, version {frames.old_version} -> "
        f"{frames.new_version}",
        f"feature face_detection: version {faces.old_version} -> {faces.new_version}",
        f"  field faces: version {faces_field.old_version} -> {faces_field.new_version} "
        "(upstream changed)",
    ]


def test_diff_of_added_and_removed_features_and_fields() -> None:
    old = pipeline_snapshot()
    new = copy.deepcopy(old)
    del new["features"]["stt"]
    new["features"]["audio_embedding"] = copy.deepcopy(old["features"]["stt"])
    new["features"]["video"]["field_versions"]["depth"] = "deadbeef"
    del new["features"]["video"]["field_versions"]["audio"]
    new["features"]["video"]["spec"]["fields"] = [
        {"key": "frames", "code_version": "1", "deps": None},
        {"key": "depth", "code_version": "3", "deps": None},
    ]
    diff = diff_snapshots(old, new)
    assert diff.added == ("audio_embedding",)
    assert diff.removed == ("stt",)
    (video,) = diff.changed
    assert video.added_fields == ("depth",)
    assert video.removed_fields == ("audio",)
    assert video.changed_fields == ()
    lines = diff.describe()
    assert "  field depth added (version deadbeef, code version 3)" in lines
    assert (
        f"  field audio removed (was version {old['features']['video']['field_versions']['audio']})"
        in lines
    )
    assert any(line.startswith("feature audio_embedding added (version ") for line in lines)
    assert f"feature stt removed (was version {old['features']['stt']['feature_version']})" in lines


def test_diff_reports_spec_changes_that_move_no_version() -> None:
    old = pipeline_snapshot()
    new = copy.deepcopy(old)
    new["features"]["crop"]["spec"]["deps"][0]["filters"] = ["duration_s > 1"]
    (crop,) = diff_snapshots(old, new).changed
    assert crop.spec_changed
    assert crop.fields == ()
    assert crop.describe() == [f"feature crop: version {crop.new_version} unchanged; spec changed"]
    assert not snapshots_equal(old, new)


def test_diff_from_nothing_and_of_equal_snapshots() -> None:
    snapshot = pipeline_snapshot()
    first = diff_snapshots(None, snapshot)
    assert first.added == ("video", "crop", "face_detection", "stt")
    assert (
        first.describe()[0] == f"graph snapshot (none recorded) -> {snapshot['snapshot_version']}"
    )
    same = diff_snapshots(snapshot, copy.deepcopy(snapshot))
    assert not same
    assert snapshots_equal(snapshot, copy.deepcopy(snapshot))


def test_malformed_snapshot_literal() -> None:
    with pytest.raises(SnapshotError, match="malformed graph snapshot"):
        diff_snapshots(None, {"snapshot_version": "x", "features": {}})


# -- the table, on every backend --------------------------------------------------------------


def test_record_is_idempotent_and_latest_reads_it_back(engine: sa.Engine) -> None:
    snapshot = pipeline_snapshot()
    with engine.begin() as connection:
        assert latest_snapshot(connection) is None  # no table yet
        create_snapshots_table(connection)
        assert latest_snapshot(connection) is None  # nothing recorded yet
        assert record_snapshot(connection, snapshot) is True
        assert record_snapshot(connection, copy.deepcopy(snapshot)) is False
        assert latest_snapshot(connection) == snapshot
        assert recordings(connection) == [(1, snapshot["snapshot_version"])]
        rows = connection.execute(sa.select(sa.func.count()).select_from(snapshots_table))
        assert rows.scalar() == 4


def test_record_a_graph(engine: sa.Engine, graph: mx.FeatureGraph) -> None:
    define_video_pipeline()
    with engine.begin() as connection:
        create_snapshots_table(connection)
        assert record_snapshot(connection, graph) is True
        assert record_snapshot(connection, graph) is False
        assert latest_snapshot(connection) == graph_snapshot(graph)
        assert record_snapshot(connection, graph, hash_truncation_length=12) is True
        latest = latest_snapshot(connection)
        assert latest is not None
        assert latest["hash_truncation_length"] == 12


def test_the_snapshot_of_a_graph_round_trips(engine: sa.Engine, graph: mx.FeatureGraph) -> None:
    """``record_snapshot(conn, graph.snapshot())`` records it (the defect: it used to fail with a
    message blaming the caller), and what the table gives back is the same snapshot."""
    define_video_pipeline()
    snapshot = graph.snapshot()
    longer = graph.snapshot(hash_truncation_length=16)
    started = datetime.now(UTC)
    with engine.begin() as connection:
        create_snapshots_table(connection)
        assert record_snapshot(connection, snapshot) is True
        assert record_snapshot(connection, graph) is False  # the same snapshot
        assert latest_snapshot(connection) == snapshot
        assert record_snapshot(connection, longer) is True
        assert record_snapshot(connection, snapshot) is True  # back to the first one
        assert load_snapshot(connection, 1) == snapshot
        assert load_snapshot(connection, 2) == longer
        assert load_snapshot(connection, longer["snapshot_version"]) == longer
        assert load_snapshot(connection, snapshot["snapshot_version"]) == snapshot
        history = snapshot_history(connection)
    finished = datetime.now(UTC)
    version, longer_version = snapshot["snapshot_version"], longer["snapshot_version"]
    assert [(r.number, r.snapshot_version, r.feature_count) for r in history] == [
        (1, version, 4),
        (2, longer_version, 4),
        (3, version, 4),
    ]
    times = [r.recorded_at for r in history]
    assert all(t.utcoffset() is not None for t in times)
    assert started <= times[0] <= times[1] <= times[2] <= finished


def test_loading_what_was_never_recorded(engine: sa.Engine) -> None:
    snapshot = pipeline_snapshot()
    with engine.begin() as connection:
        assert snapshot_history(connection) == []  # no table
        with pytest.raises(
            SnapshotError, match=r"recording 1 was never recorded \(recordings: none"
        ):
            load_snapshot(connection, 1)
        create_snapshots_table(connection)
        record_snapshot(connection, snapshot)
        listed = f"recordings: 1 ({snapshot['snapshot_version']})"
        with pytest.raises(
            SnapshotError, match=re.escape(f"recording 2 was never recorded ({listed}")
        ):
            load_snapshot(connection, 2)
        with pytest.raises(SnapshotError, match="snapshot version 'nope' was never recorded"):
            load_snapshot(connection, "nope")
        with pytest.raises(SnapshotError, match="a recording number"):
            load_snapshot(connection, True)


def test_a_graph_that_goes_back_to_an_earlier_state(engine: sa.Engine) -> None:
    a, b = pipeline_snapshot(), pipeline_snapshot({"video.audio": "2"})
    va, vb = a["snapshot_version"], b["snapshot_version"]
    with engine.begin() as connection:
        create_snapshots_table(connection)
        for snapshot in (a, b, a):
            assert record_snapshot(connection, snapshot)
        assert latest_snapshot(connection) == a
        assert recordings(connection) == [(1, va), (2, vb), (3, va)]
        # each removal undoes the most recent recording of that version
        assert remove_snapshot(connection, va)
        assert latest_snapshot(connection) == b
        assert remove_snapshot(connection, vb)
        assert latest_snapshot(connection) == a
        assert remove_snapshot(connection, va)
        assert latest_snapshot(connection) is None
        assert not remove_snapshot(connection, va)


def test_recording_errors(engine: sa.Engine, graph: mx.FeatureGraph) -> None:
    snapshot = pipeline_snapshot()
    with engine.begin() as connection:
        with pytest.raises(SnapshotError, match=f"table '{SNAPSHOTS_TABLE}' does not exist"):
            record_snapshot(connection, snapshot)
        create_snapshots_table(connection)
        with pytest.raises(SnapshotError, match="empty graph"):
            record_snapshot(connection, graph)
        with pytest.raises(SnapshotError, match="timezone-aware"):
            record_snapshot(connection, snapshot, recorded_at=datetime(2025, 1, 1))
        with pytest.raises(TypeError, match="applies to a graph"):
            record_snapshot(connection, snapshot, hash_truncation_length=12)
        assert latest_snapshot(connection) is None
