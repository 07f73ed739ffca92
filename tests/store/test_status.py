"""``MetadataStore.status``: per-feature counts that agree with ``resolve_update``."""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

import metaxy_orm as mx
from example_app.pipeline import VideoPipeline

from .conftest import N_SAMPLES, PIPELINE_KEYS, redefined_pipeline, root_samples, sample_uid


def counts_from_resolve(store: mx.MetadataStore, feature: type[mx.Feature]) -> tuple[int, int, int]:
    inc = store.resolve_update(feature)
    return inc.new.height, inc.stale.height, inc.orphaned.height


def assert_agrees_with_resolve(store: mx.MetadataStore, pipeline: VideoPipeline) -> None:
    by_key = {s.feature: s for s in store.status()}
    for feature in pipeline[1:]:
        status = by_key[str(feature.feature_key())]
        assert (status.new, status.stale, status.orphaned) == counts_from_resolve(store, feature)
        history = store.read(feature, history=True)
        assert status.rows == history.height
        assert status.samples == history["sample_uid"].n_unique()
        assert status.in_sync == (status.new == status.stale == status.orphaned == 0)


def test_empty_store(store: mx.MetadataStore, pipeline: VideoPipeline) -> None:
    statuses = store.status()
    assert [s.feature for s in statuses] == list(PIPELINE_KEYS)
    video = statuses[0]
    assert video.is_root
    assert (video.rows, video.samples) == (0, 0)
    assert (video.new, video.stale, video.orphaned, video.in_sync) == (None, None, None, None)
    for status in statuses[1:]:
        assert not status.is_root
        assert (status.rows, status.samples, status.new, status.stale, status.orphaned) == (
            0,
            0,
            0,
            0,
            0,
        )
        assert status.in_sync is True


def test_counts_follow_the_pipeline(
    engine: sa.Engine, store: mx.MetadataStore, pipeline: VideoPipeline
) -> None:
    video, crop, face_detection, stt = pipeline
    store.write(video, root_samples())
    assert_agrees_with_resolve(store, pipeline)
    assert store.status(crop)[0].new == N_SAMPLES

    store.write(crop, store.resolve_update(crop).new)
    store.write(stt, store.resolve_update(stt).new)
    assert_agrees_with_resolve(store, pipeline)
    assert store.status(face_detection)[0].new == N_SAMPLES

    # audio changes for 3 samples: stale in crop and stt
    changed = [sample_uid(i) for i in (1, 2, 3)]
    store.write(
        video,
        root_samples(audio={u: f"new-{u}" for u in changed}).filter(
            pl.col("sample_uid").is_in(changed)
        ),
    )
    status = store.status(crop)[0]
    assert (status.new, status.stale, status.orphaned) == (0, 3, 0)
    assert status.rows == N_SAMPLES
    assert store.status(stt)[0].stale == 3
    assert_agrees_with_resolve(store, pipeline)

    # two samples disappear from video (deleted by hand): orphaned downstream
    gone = [sample_uid(20), sample_uid(21)]
    table: sa.Table = video.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(sa.delete(table).where(table.c.sample_uid.in_(gone)))
    status = store.status(crop)[0]
    assert (status.new, status.stale, status.orphaned) == (0, 3, 2)
    assert_agrees_with_resolve(store, pipeline)


def test_feature_version_change_is_stale(store: mx.MetadataStore, pipeline: VideoPipeline) -> None:
    video, crop, *_ = pipeline
    store.write(video, root_samples())
    store.write(crop, store.resolve_update(crop).new)
    with redefined_pipeline({"crop.frames": "2"}) as bumped:
        status = store.status(bumped.crop)[0]
        assert (status.new, status.stale, status.orphaned) == (0, N_SAMPLES, 0)
        assert status.to_dict()["in_sync"] is False
        assert_agrees_with_resolve(store, bumped)
