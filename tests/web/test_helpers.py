"""``metaxy_orm.web``: the FastAPI-free helpers, on every backend, against the library."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl
import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

import metaxy_orm as mx
from example_app.demo import compute, video_samples
from example_app.pipeline import VideoPipeline, define_video_pipeline
from metaxy_orm.web import latest_page, lookup, open_engine, update_root_samples

N = 15


@pytest.fixture
def pipeline(graph: mx.FeatureGraph) -> VideoPipeline:
    return define_video_pipeline()


@pytest.fixture
def store(database_url: str, pipeline: VideoPipeline) -> Iterator[mx.MetadataStore]:
    engine = open_engine(database_url)
    try:
        SQLModel.metadata.create_all(engine)
        store = mx.MetadataStore(engine)
        store.write(pipeline.video, store.resolve_update(pipeline.video, video_samples(N)).new)
        yield store
    finally:
        engine.dispose()


def test_update_root_samples_answers_for_the_given_samples_only(
    store: mx.MetadataStore, pipeline: VideoPipeline
) -> None:
    video = pipeline.video
    edited = video_samples(N + 2, frozenset({4}))
    given = edited.filter(pl.col("sample_uid").is_in(["video-00004", "video-00015"]))
    partial = update_root_samples(store, video, given)
    full = store.resolve_update(video, samples=given)
    assert partial.orphaned.is_empty()
    assert full.orphaned.height == N - 1  # the library's meaning: the list is complete
    assert partial.new.equals(full.new)
    assert partial.stale.equals(full.stale)
    assert partial.new["sample_uid"].to_list() == ["video-00015"]
    assert partial.new["path"].to_list() == ["s3://bucket/raw/video-00015.mp4"]
    assert partial.stale.select("sample_uid", "metaxy_changed__audio").rows() == [
        ("video-00004", True)
    ]
    store.write(video, partial.to_compute)
    assert update_root_samples(store, video, given).is_empty()
    with pytest.raises(mx.InvalidRowsError, match="not a root feature"):
        update_root_samples(store, pipeline.crop, given)
    with pytest.raises(mx.InvalidRowsError, match="metaxy_provenance__frames"):
        update_root_samples(store, video, given.drop("metaxy_provenance__frames"))


def test_latest_page_and_lookup(store: mx.MetadataStore, pipeline: VideoPipeline) -> None:
    crop = pipeline.crop
    todo = store.resolve_update(crop).new
    store.write(crop, compute(crop, todo.head(5)))
    store.write(crop, compute(crop, todo.slice(5)))
    newest = latest_page(store, crop, limit=3, newest_first=True)
    assert newest.total == N
    assert newest.rows["sample_uid"].to_list() == ["video-00014", "video-00013", "video-00012"]
    by_id = latest_page(store, crop, limit=4, offset=12)
    assert by_id.rows["sample_uid"].to_list() == ["video-00012", "video-00013", "video-00014"]
    assert latest_page(store, crop, offset=100).total == N  # past the end: still the total
    read = store.read(crop)
    everything = latest_page(store, crop, limit=100).rows
    assert everything.select(read.columns).equals(read)

    found = lookup(store, crop.feature_graph(), {"sample_uid": "video-00003"})
    assert found["video"] is not None
    assert found["crop"] is not None
    assert found["crop"]["path"] == "s3://bucket/crops/video-00003.mp4"
    assert found["stt"] is None
    assert set(found) == {"video", "crop", "face_detection", "stt"}


def test_open_engine_reports_unreachable_databases() -> None:
    with pytest.raises(sa.exc.OperationalError):
        open_engine(
            "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
        )
