"""Every version the store computes (in SQL and in Polars) equals the hashlib reference."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

import metaxy_orm as mx
from example_app.pipeline import VideoPipeline, define_video_pipeline

from .conftest import N_SAMPLES, root_samples, root_values, run_workflow, video_reference
from .reference import provenance_column

#: (hash algorithm, truncation): the default, the longest, and a few in between.
CONFIGS = [("md5", 8), ("sha256", 64), ("md5", 64), ("sha256", 8), ("md5", 13), ("sha256", 40)]


@pytest.mark.parametrize(("algorithm", "truncation"), CONFIGS)
def test_stored_versions_equal_reference(
    engine: sa.Engine, pipeline: VideoPipeline, algorithm: str, truncation: int
) -> None:
    store = mx.MetadataStore(engine, hash_algorithm=algorithm, hash_truncation_length=truncation)
    samples = root_samples()
    before = dt.datetime.now(dt.UTC)
    run_workflow(store, pipeline, samples, materialization_id="run-1")
    after = dt.datetime.now(dt.UTC)

    reference = video_reference()
    expected = reference.simulate({"video": root_values(samples)}, algorithm, truncation)
    for feature in pipeline:
        key = str(feature.feature_key())
        frame = store.read(feature)
        assert frame.height == N_SAMPLES, key
        version_columns = sorted(next(iter(expected[key].values())))
        system = {c for c in frame.columns if c.startswith("metaxy_")}
        assert system == {*version_columns, "metaxy_created_at", "metaxy_materialization_id"}
        actual = {
            (row["sample_uid"],): {c: row[c] for c in version_columns}
            for row in frame.iter_rows(named=True)
        }
        assert actual == expected[key], key
        assert frame["metaxy_materialization_id"].to_list() == ["run-1"] * N_SAMPLES
        assert frame.schema["metaxy_created_at"] == pl.Datetime("us", "UTC")
        created = frame["metaxy_created_at"].to_list()
        assert all(before <= c <= after for c in created), (before, created, after)
        # the class reports the versions the rows were written under
        assert feature.feature_version(hash_truncation_length=truncation) == (
            reference.feature_version(key, truncation)
        )


@pytest.mark.parametrize(("algorithm", "truncation"), [("md5", 8), ("sha256", 64)])
def test_increment_carries_reference_provenance(
    engine: sa.Engine, pipeline: VideoPipeline, algorithm: str, truncation: int
) -> None:
    store = mx.MetadataStore(engine, hash_algorithm=algorithm, hash_truncation_length=truncation)
    video, crop, face_detection, stt = pipeline
    samples = root_samples()
    reference = video_reference()

    root_inc = store.resolve_update(video, samples=samples)
    expected_video = reference.simulate({"video": root_values(samples)}, algorithm, truncation)
    assert root_inc.new.columns[:4] == [
        "sample_uid",
        "metaxy_provenance__audio",
        "metaxy_provenance__frames",
        "metaxy_provenance",
    ]
    for row in root_inc.new.iter_rows(named=True):
        assert (
            row["metaxy_provenance"]
            == expected_video["video"][(row["sample_uid"],)]["metaxy_provenance"]
        )
    store.write(video, root_inc.new)

    inc = store.resolve_update(crop)
    assert inc.new.columns == [
        "sample_uid",
        "metaxy_provenance__audio",
        "metaxy_provenance__frames",
        "metaxy_provenance",
    ]
    parents = {"video": root_values(samples)}
    expected = reference.expected_provenance("crop", parents, algorithm, truncation)
    actual = {
        (row["sample_uid"],): {
            "audio": row["metaxy_provenance__audio"],
            "frames": row["metaxy_provenance__frames"],
        }
        for row in inc.new.iter_rows(named=True)
    }
    assert actual == expected
    for row in inc.new.iter_rows(named=True):
        per_field = expected[(row["sample_uid"],)]
        assert row["metaxy_provenance"] == reference.row_hash(
            "crop", per_field, algorithm, truncation
        )
    # the frames are sorted by id
    assert inc.new["sample_uid"].to_list() == sorted(inc.new["sample_uid"].to_list())

    store.write(crop, inc.new)
    store.write(stt, store.resolve_update(stt).new)
    faces = store.resolve_update(face_detection).new
    crop_dv = {(k[0],): {"frames": v["frames"], "audio": v["audio"]} for k, v in expected.items()}
    expected_faces = reference.expected_provenance(
        "face_detection", {"crop": crop_dv}, algorithm, truncation
    )
    column = provenance_column("faces")
    assert {(r["sample_uid"],): {"faces": r[column]} for r in faces.iter_rows(named=True)} == (
        expected_faces
    )


AWKWARD_CODE_VERSIONS = {
    "crop.frames": "50% off",
    "crop.audio": "it's a 'quote' \\ and a backslash",
    "stt.transcription": "%(name)s %s {x} :param ?",
    "face_detection.faces": "été 日本 💡 | pipe",
}


def test_awkward_code_versions_equal_reference(engine: sa.Engine, graph: mx.FeatureGraph) -> None:
    """Code versions are text inside the hashed parts: quotes, ``%``, placeholders, non-ASCII."""
    pipeline = define_video_pipeline(AWKWARD_CODE_VERSIONS)
    SQLModel.metadata.create_all(engine)
    store = mx.MetadataStore(engine)
    samples = root_samples()
    run_workflow(store, pipeline, samples)
    reference = video_reference(AWKWARD_CODE_VERSIONS)
    expected = reference.simulate({"video": root_values(samples)}, "md5", 8)
    for feature in pipeline:
        key = str(feature.feature_key())
        for row in store.read(feature).iter_rows(named=True):
            want = expected[key][(row["sample_uid"],)]
            assert {c: row[c] for c in want} == want, key
