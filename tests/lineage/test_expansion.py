"""Expansion (1:N): the increment is per parent; children carry their parent's provenance."""

from __future__ import annotations

import polars as pl
import pytest
import sqlalchemy as sa

import metaxy_orm as mx
from example_app.lineage_pipeline import LineagePipeline, expand_frames

from .conftest import provenance_by_key, reference_expected, videos

PIXELS = "metaxy_provenance__pixels"
COUNTS = {"v1": 3, "v2": 1, "v10": 12}


def start(store: mx.MetadataStore, pipeline: LineagePipeline) -> mx.Increment:
    samples = videos(COUNTS)
    store.write(pipeline.video, store.resolve_update(pipeline.video, samples=samples).new)
    return store.resolve_update(pipeline.frames)


def test_new_is_one_row_per_parent_with_what_the_children_need(
    store: mx.MetadataStore, pipeline: LineagePipeline
) -> None:
    inc = start(store, pipeline)
    assert inc.new["video_id"].to_list() == ["v1", "v10", "v2"]
    assert "frame_id" not in inc.new.columns
    assert {"path", "n_frames", PIXELS, "metaxy_provenance"} <= set(inc.new.columns)
    assert inc.new["path"].to_list() == ["/videos/v1.mp4", "/videos/v10.mp4", "/videos/v2.mp4"]
    expected = reference_expected(store, pipeline.frames, list(pipeline))
    assert provenance_by_key(inc.new, ["video_id"]) == expected
    assert inc.stale.is_empty()
    assert inc.orphaned.is_empty()


def test_children_written_with_the_parent_provenance_round_trip(
    store: mx.MetadataStore, pipeline: LineagePipeline
) -> None:
    inc = start(store, pipeline)
    children = expand_frames(inc.new).with_columns(timestamp_s=pl.col("frame_id") / 25)
    assert store.write(pipeline.frames, children) == sum(COUNTS.values())
    stored = store.read(pipeline.frames)
    assert stored.height == 16
    by_parent = stored.group_by("video_id").agg(pl.col(PIXELS).unique(), pl.len())
    per_parent = {r["video_id"]: r for r in by_parent.iter_rows(named=True)}
    wanted = provenance_by_key(inc.new, ["video_id"])
    for video, count in COUNTS.items():
        assert per_parent[video]["len"] == count
        assert per_parent[video][PIXELS] == [wanted[(video,)]["pixels"]]
    assert stored["timestamp_s"].max() == pytest.approx(11 / 25)
    assert store.resolve_update(pipeline.frames).is_empty()
    status = store.status(pipeline.frames)[0]
    assert (status.rows, status.samples, status.in_sync) == (16, 16, True)


def test_a_changed_parent_is_one_stale_row(
    store: mx.MetadataStore, pipeline: LineagePipeline
) -> None:
    store.write(pipeline.frames, expand_frames(start(store, pipeline).new))
    changed = videos(COUNTS, frames={"v10": "re-encoded"})
    store.write(pipeline.video, store.resolve_update(pipeline.video, samples=changed).stale)
    inc = store.resolve_update(pipeline.frames)
    assert inc.new.is_empty()
    assert inc.orphaned.is_empty()
    assert inc.stale["video_id"].to_list() == ["v10"]
    assert "frame_id" not in inc.stale.columns
    expected = reference_expected(store, pipeline.frames, list(pipeline))
    assert provenance_by_key(inc.stale, ["video_id"]) == {("v10",): expected[("v10",)]}
    status = store.status(pipeline.frames)[0]
    assert (status.new, status.stale, status.orphaned) == (0, 1, 0)

    # re-expanded into fewer frames: the parent is done, the frames it no longer has are orphans
    store.write(pipeline.frames, expand_frames(inc.stale, pl.lit(10)))
    inc = store.resolve_update(pipeline.frames)
    assert inc.new.is_empty()
    assert inc.stale.is_empty()
    assert inc.orphaned.select("video_id", "frame_id").rows() == [("v10", 10), ("v10", 11)]
    assert set(inc.orphaned[PIXELS]) != {expected[("v10",)]["pixels"]}


def test_children_of_a_vanished_parent_are_orphaned(
    store: mx.MetadataStore, pipeline: LineagePipeline, engine: sa.Engine
) -> None:
    store.write(pipeline.frames, expand_frames(start(store, pipeline).new))
    table = pipeline.video.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(sa.delete(table).where(table.c.video_id == "v1"))
    inc = store.resolve_update(pipeline.frames)
    assert inc.new.is_empty()
    assert inc.stale.is_empty()
    assert inc.orphaned.select("video_id", "frame_id").rows() == [("v1", 0), ("v1", 1), ("v1", 2)]


def test_a_parent_without_children_stays_new(
    store: mx.MetadataStore, pipeline: LineagePipeline
) -> None:
    inc = start(store, pipeline)
    store.write(pipeline.frames, expand_frames(inc.new.filter(pl.col("video_id") != "v2")))
    assert store.resolve_update(pipeline.frames).new["video_id"].to_list() == ["v2"]


def test_lazy_increment_has_the_same_columns(
    store: mx.MetadataStore, pipeline: LineagePipeline, engine: sa.Engine
) -> None:
    store.write(pipeline.frames, expand_frames(start(store, pipeline).new))
    store.write(
        pipeline.video,
        store.resolve_update(pipeline.video, samples=videos(COUNTS, frames={"v1": "new"})).stale,
    )
    lazy = store.resolve_update(pipeline.frames, lazy=True)
    eager = store.resolve_update(pipeline.frames)
    assert [c.key for c in lazy.stale.selected_columns] == eager.stale.columns
    assert "frame_id" in [c.key for c in lazy.orphaned.selected_columns]
    with engine.connect() as conn:
        store.backend.prepare(conn)
        rows = conn.execute(lazy.stale).all()
    assert [r.video_id for r in rows] == ["v1"]
