"""Fixtures and helpers of the store tests: the video pipeline, root samples, a full run.

Every test here takes the ``engine`` (or ``database_url``) fixture of ``tests/conftest.py`` and
therefore runs once per backend.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel
from sqlmodel.main import default_registry

import metaxy_orm as mx
from example_app.pipeline import VideoPipeline, define_video_pipeline

from .reference import IdKey, RefDep, RefFeature, RefField, RefGraph

#: Samples of the video pipeline in most tests: small, so that the suite stays fast.
N_SAMPLES = 24

AUDIO = "metaxy_provenance__audio"
FRAMES = "metaxy_provenance__frames"
PIPELINE_KEYS = ("video", "crop", "face_detection", "stt")


def video_reference(code_versions: Mapping[str, str] | None = None) -> RefGraph:
    """The video pipeline, written out by hand for the reference."""
    versions = dict(code_versions or {})

    def cv(name: str) -> str:
        return versions.get(name, "1")

    ids = ("sample_uid",)
    return RefGraph(
        [
            RefFeature(
                "video",
                ids,
                (RefField("audio", cv("video.audio")), RefField("frames", cv("video.frames"))),
            ),
            RefFeature(
                "crop",
                ids,
                (
                    RefField("audio", cv("crop.audio"), (("video", ("audio",)),)),
                    RefField("frames", cv("crop.frames"), (("video", ("frames",)),)),
                ),
                (RefDep("video"),),
            ),
            RefFeature(
                "face_detection",
                ids,
                (RefField("faces", cv("face_detection.faces"), (("crop", ("frames",)),)),),
                (RefDep("crop"),),
            ),
            RefFeature(
                "stt",
                ids,
                (RefField("transcription", cv("stt.transcription"), (("video", ("audio",)),)),),
                (RefDep("video"),),
            ),
        ]
    )


def define_joined(
    crop: type[mx.Feature], stt: type[mx.Feature], code_version: str = "1"
) -> type[mx.Feature]:
    """A feature with two parents: ``crop`` (its ``path`` selected and renamed ``crop_path``) and
    ``stt`` (optional): the dependency options the incremental resolve must carry through."""

    class Joined(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="joined",
            id_columns=["sample_uid"],
            deps=[
                mx.FeatureDep(feature=crop, select=["path"], rename={"path": "crop_path"}),
                mx.FeatureDep(feature=stt, optional=True),
            ],
            fields=[mx.FieldSpec(key="both", code_version=code_version)],
        ),
    ):
        sample_uid: str
        crop_path: str | None = None

    return Joined


def sample_uid(i: int) -> str:
    return f"s{i:03d}"


def root_samples(
    n: int = N_SAMPLES,
    *,
    start: int = 0,
    audio: Mapping[str, str] | None = None,
    frames: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """Root samples of ``video``: ids, per-field provenance (checksums) and a ``path``.

    ``audio``/``frames`` replace the checksum of some samples (by sample uid).
    """
    uids = [sample_uid(i) for i in range(start, start + n)]
    return pl.DataFrame(
        {
            "sample_uid": uids,
            AUDIO: [(audio or {}).get(u, f"audio-{u}") for u in uids],
            FRAMES: [(frames or {}).get(u, f"frames-{u}") for u in uids],
            "path": [f"/videos/{u}.mp4" for u in uids],
        }
    )


def root_values(samples: pl.DataFrame) -> dict[IdKey, dict[str, str]]:
    """Root samples as the reference wants them."""
    return {
        (row["sample_uid"],): {"audio": row[AUDIO], "frames": row[FRAMES]}
        for row in samples.iter_rows(named=True)
    }


def uids(frame: pl.DataFrame) -> set[str]:
    return set(frame["sample_uid"].to_list())


def create_tables(engine: sa.Engine) -> None:
    SQLModel.metadata.create_all(engine)


@contextmanager
def redefined_pipeline(code_versions: Mapping[str, str]) -> Iterator[VideoPipeline]:
    """The same four tables defined again (new code versions) in a new graph.

    The database keeps its rows; only the Python classes and SQLModel's metadata are new.
    """
    SQLModel.metadata.clear()
    default_registry.dispose()
    with mx.FeatureGraph():
        yield define_video_pipeline(code_versions)


def run_workflow(
    store: mx.MetadataStore,
    pipeline: Sequence[type[mx.Feature]],
    samples: pl.DataFrame,
    *,
    materialization_id: str | None = None,
) -> dict[str, mx.Increment]:
    """Resolve and write new and stale rows of every feature, upstream first."""
    increments: dict[str, mx.Increment] = {}
    for feature in pipeline:
        spec = feature.feature_spec()
        inc = (
            store.resolve_update(feature, samples=samples)
            if not spec.deps
            else store.resolve_update(feature)
        )
        increments[str(spec.key)] = inc
        store.write(feature, inc.to_compute, materialization_id=materialization_id)
    return increments


def history_rows(store: mx.MetadataStore, feature: type[mx.Feature]) -> list[dict[str, Any]]:
    """Every stored row, in a stable order, for before/after comparisons."""
    frame = store.read(feature, history=True)
    return sorted(frame.to_dicts(), key=repr)


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def pipeline(graph: mx.FeatureGraph, engine: sa.Engine) -> VideoPipeline:
    """The video pipeline in the isolated graph, with its tables created."""
    features = define_video_pipeline()
    create_tables(engine)
    return features


@pytest.fixture
def store(engine: sa.Engine, pipeline: VideoPipeline) -> mx.MetadataStore:
    """A store on the test database, video pipeline tables created."""
    return mx.MetadataStore(engine)


@pytest.fixture
def bare_store(engine: sa.Engine) -> mx.MetadataStore:
    """A store for tests that define their own features (create tables with create_tables)."""
    return mx.MetadataStore(engine)


@pytest.fixture
def computed(store: mx.MetadataStore, pipeline: VideoPipeline) -> pl.DataFrame:
    """The whole pipeline computed once for ``root_samples()``; returns those samples."""
    samples = root_samples()
    run_workflow(store, pipeline, samples)
    return samples
