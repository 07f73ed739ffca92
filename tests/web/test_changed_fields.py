"""Per-field change flags of stale samples (``metaxy_changed__<field>``), eager and lazy."""

from __future__ import annotations

import polars as pl
import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

import metaxy_orm as mx
from example_app.demo import compute, video_samples
from example_app.pipeline import VideoPipeline, define_video_pipeline
from metaxy_orm.testing import isolated_graph

N = 10
EDITED = frozenset({2, 7})
FLAGS = ["metaxy_changed__audio", "metaxy_changed__frames"]


def run_all(store: mx.MetadataStore, pipeline: VideoPipeline) -> None:
    for feature in pipeline[1:]:
        todo = store.resolve_update(feature).to_compute
        if todo.height:
            store.write(feature, compute(feature, todo))


@pytest.fixture
def store(engine: sa.Engine, graph: mx.FeatureGraph) -> mx.MetadataStore:
    pipeline = define_video_pipeline()
    SQLModel.metadata.create_all(engine)
    store = mx.MetadataStore(engine)
    store.write(pipeline.video, store.resolve_update(pipeline.video, video_samples(N)).new)
    run_all(store, pipeline)
    return store


def test_audio_edit_flags_audio_only(store: mx.MetadataStore, graph: mx.FeatureGraph) -> None:
    video, crop = graph.get_feature("video"), graph.get_feature("crop")
    inc = store.resolve_update(video, video_samples(N, EDITED))
    assert inc.stale["metaxy_changed__audio"].to_list() == [True, True]
    assert inc.stale["metaxy_changed__frames"].to_list() == [False, False]
    store.write(video, inc.stale)  # flags are increment-only: write drops them

    inc = store.resolve_update(crop)
    assert inc.new.is_empty()
    assert inc.orphaned.is_empty()
    assert inc.stale.columns[-2:] == FLAGS
    assert inc.stale.select(FLAGS).rows() == [(True, False), (True, False)]
    assert not any(c.startswith("metaxy_changed__") for c in inc.new.columns)
    assert not any(c.startswith("metaxy_changed__") for c in inc.orphaned.columns)
    assert inc.stale["sample_uid"].to_list() == [f"video-{i:05d}" for i in sorted(EDITED)]

    # the same answer, lazily
    lazy = store.resolve_update(crop, lazy=True)
    with store._db.begin() as conn:
        rows = conn.execute(lazy.stale.order_by(sa.text("sample_uid"))).mappings().all()
        assert FLAGS[0] not in list(conn.execute(lazy.new).keys())
    assert [(bool(r[FLAGS[0]]), bool(r[FLAGS[1]])) for r in rows] == [(True, False)] * 2

    # to_compute: new samples get every flag, stale keep theirs
    both = inc.to_compute
    assert both.select(FLAGS).rows() == [(True, False), (True, False)]
    stt = store.resolve_update(graph.get_feature("stt"))
    assert stt.stale["metaxy_changed__transcription"].to_list() == [True, True]
    assert store.resolve_update(graph.get_feature("face_detection")).is_empty()


def test_version_only_change_flags_every_field(engine: sa.Engine, store: mx.MetadataStore) -> None:
    # An upstream code version moved, but video has not been recomputed: crop is stale by its
    # feature version alone, and nothing tells which field the new code affects.
    with isolated_graph():
        bumped = define_video_pipeline({"video.audio": "2"})
        inc = mx.MetadataStore(engine).resolve_update(bumped.crop)
        assert inc.stale.height == N
        assert inc.stale.select(FLAGS).unique().rows() == [(True, True)]
        # once video's audio is recomputed, only crop.audio moves
        new_store = mx.MetadataStore(engine)
        redo = new_store.resolve_update(bumped.video, video_samples(N, frozenset(range(N))))
        new_store.write(bumped.video, redo.stale)
        flags = new_store.resolve_update(bumped.crop).stale.select(FLAGS)
        assert flags.unique().rows() == [(True, False)]


def test_pending_page_matches_increment(store: mx.MetadataStore, graph: mx.FeatureGraph) -> None:
    from metaxy_orm.web import changed_fields, pending_page

    video, crop = graph.get_feature("video"), graph.get_feature("crop")
    store.write(video, store.resolve_update(video, video_samples(N + 3, EDITED)).to_compute)
    page = pending_page(store, crop, limit=100)
    assert page.total == 5
    assert page.rows["status"].to_list() == ["stale", "stale", "new", "new", "new"]
    assert changed_fields(page.rows).to_list() == [["audio"]] * 2 + [["audio", "frames"]] * 3
    first = pending_page(store, crop, limit=2, offset=0).rows
    rest = pending_page(store, crop, limit=10, offset=2).rows
    assert pl.concat([first, rest]).equals(page.rows)
