"""The mixed chain video -> frames (1:N) -> frame_faces (1:1) -> video_faces (N:1), and
video_report (1:1 on video and N:1 on frame_faces), on every backend."""

from __future__ import annotations

import polars as pl

import metaxy_orm as mx
from example_app.lineage_pipeline import LineagePipeline, expand_frames

from .conftest import provenance_by_key, reference_expected, run_all, videos

COUNTS = {"v1": 3, "v2": 1, "v10": 12}


def increments(store: mx.MetadataStore, pipeline: LineagePipeline) -> dict[str, dict[str, list]]:
    """Per downstream feature: the ids of new, stale and orphaned rows."""
    result = {}
    for feature in pipeline[1:]:
        inc = store.resolve_update(feature)
        key = str(feature.feature_key())
        result[key] = {
            name: sorted(
                frame.select(c for c in ("video_id", "frame_id") if c in frame.columns).rows()
            )
            for name, frame in (("new", inc.new), ("stale", inc.stale), ("orphaned", inc.orphaned))
        }
    return result


def test_the_whole_chain_matches_the_reference_and_settles(
    store: mx.MetadataStore, pipeline: LineagePipeline
) -> None:
    run_all(store, pipeline, videos(COUNTS))
    for feature in pipeline[1:]:
        spec = feature.feature_spec()
        key = ["video_id"] if str(spec.key) == "frames" else list(spec.id_columns)
        stored = store.read(feature)
        expected = reference_expected(store, feature, list(pipeline))
        got = provenance_by_key(stored.unique(subset=key), key)
        assert got == expected, spec.key
    assert all(s.in_sync for s in store.status(graph=None) if not s.is_root)
    assert [s.rows for s in store.status()] == [3, 16, 16, 3, 3]


def test_a_changed_video_reaches_only_its_own_frames_and_groups(
    store: mx.MetadataStore, pipeline: LineagePipeline
) -> None:
    run_all(store, pipeline, videos(COUNTS))
    changed = videos(COUNTS, frames={"v1": "re-encoded"})
    store.write(pipeline.video, store.resolve_update(pipeline.video, samples=changed).stale)
    empty: list = []
    assert increments(store, pipeline)["frames"] == {
        "new": empty,
        "stale": [("v1",)],
        "orphaned": empty,
    }
    store.write(pipeline.frames, expand_frames(store.resolve_update(pipeline.frames).stale))
    state = increments(store, pipeline)
    assert state["frame_faces"]["stale"] == [("v1", 0), ("v1", 1), ("v1", 2)]
    # the groups downstream of frame_faces only change once frame_faces is recomputed
    assert state["video_faces"]["stale"] == empty
    assert state["video_report"]["stale"] == [("v1",)]  # 1:1 on video: its frames field changed
    store.write(pipeline.frame_faces, store.resolve_update(pipeline.frame_faces).stale)
    state = increments(store, pipeline)
    assert state["video_faces"] == {"new": empty, "stale": [("v1",)], "orphaned": empty}
    assert state["video_report"] == {"new": empty, "stale": [("v1",)], "orphaned": empty}
    for feature in (pipeline.video_faces, pipeline.video_report):
        inc = store.resolve_update(feature)
        expected = reference_expected(store, feature, list(pipeline))
        assert provenance_by_key(inc.stale, ["video_id"]) == {("v1",): expected[("v1",)]}
        store.write(feature, inc.stale)
    assert all(s.in_sync for s in store.status() if not s.is_root)


def test_one_frame_recomputed_with_another_result_makes_one_group_stale(
    store: mx.MetadataStore, pipeline: LineagePipeline
) -> None:
    run_all(store, pipeline, videos(COUNTS))
    faces = store.read(pipeline.frame_faces).filter(
        pl.col("video_id") == "v10", pl.col("frame_id") == 11
    )
    redone = faces.select("video_id", "frame_id", "metaxy_provenance__faces").with_columns(
        metaxy_data_version__faces=pl.lit("another-output"), num_faces=pl.lit(2)
    )
    store.write(pipeline.frame_faces, redone)
    state = increments(store, pipeline)
    assert state["frame_faces"] == {"new": [], "stale": [], "orphaned": []}
    assert state["video_faces"]["stale"] == [("v10",)]
    assert state["video_report"]["stale"] == [("v10",)]
