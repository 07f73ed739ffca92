"""Tests of a pipeline with metaxy-orm's pytest fixtures: mx_graph, mx_engine, mx_store."""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

import metaxy_orm as mx

SAMPLES = pl.DataFrame(
    {
        "sample_uid": ["v1", "v2"],
        "metaxy_provenance__audio": ["audio-sha-1", "audio-sha-2"],
        "metaxy_provenance__frames": ["frames-sha-1", "frames-sha-2"],
    }
)


def define_video(audio_version: str = "1") -> type[mx.Feature]:
    """Defines the feature in the active graph (in your project: a factory, or your module)."""

    class Video(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="video",
            id_columns=["sample_uid"],
            fields=[mx.FieldSpec(key="audio", code_version=audio_version), "frames"],
        ),
    ):
        sample_uid: str

    return Video


def test_new_samples_are_written_once(
    mx_graph: mx.FeatureGraph, mx_engine: sa.Engine, mx_store: mx.MetadataStore
) -> None:
    video = define_video()  # registered in mx_graph, its table in mx.metadata_of(mx_graph)
    mx.metadata_of(mx_graph).create_all(mx_engine)

    increment = mx_store.resolve_update(video, samples=SAMPLES)
    assert increment.new.height == 2
    mx_store.write(video, increment.new)
    assert mx_store.resolve_update(video, samples=SAMPLES).is_empty()


def test_a_new_audio_version_makes_every_sample_stale(
    mx_graph: mx.FeatureGraph, mx_engine: sa.Engine, mx_store: mx.MetadataStore
) -> None:
    with mx.FeatureGraph() as old_graph:  # the version already in production
        old_video = define_video("1")
    mx.metadata_of(old_graph).create_all(mx_engine)
    mx_store.write(old_video, mx_store.resolve_update(old_video, samples=SAMPLES).new)

    new_video = define_video("2")  # the new code, in mx_graph: same table, new version
    increment = mx_store.resolve_update(new_video, samples=SAMPLES)
    assert (increment.new.height, increment.stale.height) == (0, 2)
