"""``metaxy_orm.snapshots``: recording, reading and comparing graph snapshots."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import SQLModel
from sqlmodel.main import default_registry

import metaxy_orm as mx
from example_app.pipeline import define_video_pipeline
from metaxy_orm.snapshots import (
    SNAPSHOTS_TABLE,
    GraphSnapshot,
    SnapshotError,
    apply_changes,
    create_snapshots_table,
    diff_snapshots,
    graph_snapshot,
    latest_snapshot,
    load_snapshot,
    parse_snapshot,
    record_changes,
    record_snapshot,
    remove_snapshot,
    revert_changes,
    snapshot_changes,
    snapshot_fingerprint,
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


# -- graph changes: what revisions carry -------------------------------------------------------

CODE_VERSIONS = st.fixed_dictionaries(
    {},
    optional={
        name: st.sampled_from(["1", "2", "3"])
        for name in ("video.audio", "video.frames", "crop.frames", "stt.transcription")
    },
)


@settings(max_examples=25, deadline=None)
@given(old=CODE_VERSIONS, new=CODE_VERSIONS)
def test_changes_carry_what_differs_and_rebuild_the_snapshot(
    old: dict[str, str], new: dict[str, str]
) -> None:
    """Applying the changes between two snapshots to the first gives the second, with the
    graph's own snapshot version; the changes name exactly the features that differ."""
    before, after = pipeline_snapshot(old), pipeline_snapshot(new)
    changes = snapshot_changes(before, after)
    assert set(changes) == {
        key
        for key in after["features"]
        if json.dumps(after["features"][key], sort_keys=True)
        != json.dumps(before["features"][key], sort_keys=True)
    }
    rebuilt = apply_changes(before, changes, after["hash_truncation_length"])
    assert snapshots_equal(rebuilt, after)
    assert rebuilt["snapshot_version"] == after["snapshot_version"]
    assert snapshot_fingerprint(after["features"], 8) == after["snapshot_version"]


def test_changes_of_two_branches_compose_in_either_order() -> None:
    base = pipeline_snapshot()
    a = snapshot_changes(base, pipeline_snapshot({"stt.transcription": "2"}))
    b = snapshot_changes(base, pipeline_snapshot({"crop.frames": "2"}))
    merged = pipeline_snapshot({"stt.transcription": "2", "crop.frames": "2"})
    assert snapshots_equal(apply_changes(apply_changes(base, a, 8), b, 8), merged)
    assert snapshots_equal(apply_changes(apply_changes(base, b, 8), a, 8), merged)
    removed = apply_changes(base, {"stt": None}, 8)
    assert set(removed["features"]) == {"video", "crop", "face_detection"}
    with pytest.raises(SnapshotError, match="malformed graph changes"):
        apply_changes(base, {"stt": {"feature_version": "x"}}, 8)


def test_revert_removes_or_reverts_the_recording_of_the_changes(engine: sa.Engine) -> None:
    """In order: the latest recording is removed. Out of order (another branch recorded after):
    a new recording with the reverted features as they were. Unknown: nothing happens."""
    base = pipeline_snapshot()
    a_snapshot = pipeline_snapshot({"stt.transcription": "2"})
    a = snapshot_changes(base, a_snapshot)
    b = snapshot_changes(base, pipeline_snapshot({"crop.frames": "2"}))
    versions = {key: None if f is None else f["feature_version"] for key, f in a.items()}
    with engine.begin() as connection:
        create_snapshots_table(connection)
        record_snapshot(connection, base)
        record_changes(connection, a, hash_truncation_length=8)
        assert revert_changes(connection, versions)  # linear: removed
        assert recordings(connection) == [(1, base["snapshot_version"])]
        assert not revert_changes(connection, versions)  # not recorded: nothing to do

        record_changes(connection, a, hash_truncation_length=8)
        record_changes(connection, b, hash_truncation_length=8)
        assert revert_changes(connection, versions)  # a was applied first: b's changes stay
        assert snapshots_equal(latest_snapshot(connection), pipeline_snapshot({"crop.frames": "2"}))
        assert len(recordings(connection)) == 4
