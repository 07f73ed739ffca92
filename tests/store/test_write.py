"""``write``: accepted row formats, the columns the store fills, and refused batches."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

import metaxy_orm as mx
from example_app.pipeline import VideoPipeline

from .conftest import AUDIO, FRAMES, history_rows, root_samples, root_values, video_reference

FACES = "metaxy_provenance__faces"


def test_write_accepts_polars_dicts_and_model_instances(
    store: mx.MetadataStore, pipeline: VideoPipeline
) -> None:
    video = pipeline.video
    samples = root_samples()
    first, second, third = samples.slice(0, 8), samples.slice(8, 8), samples.slice(16)
    assert store.write(video, first) == 8
    assert store.write(video, second.to_dicts()) == 8
    instances = [video(**row) for row in third.to_dicts()]
    assert store.write(video, instances) == third.height

    frame = store.read(video)
    assert frame["sample_uid"].to_list() == samples["sample_uid"].to_list()
    assert frame["path"].to_list() == samples["path"].to_list()
    assert frame["duration_s"].null_count() == frame.height
    expected = video_reference().simulate({"video": root_values(samples)}, "md5", 8)["video"]
    for row in frame.iter_rows(named=True):
        want = expected[(row["sample_uid"],)]
        assert {c: row[c] for c in want} == want
    # what was written is exactly what resolve_update expects
    assert store.resolve_update(video, samples=samples).is_empty()


def test_write_of_nothing(store: mx.MetadataStore, pipeline: VideoPipeline) -> None:
    assert store.write(pipeline.video, []) == 0
    assert store.write(pipeline.video, root_samples().head(0)) == 0
    assert store.read(pipeline.video, history=True).is_empty()


def test_user_columns_round_trip(store: mx.MetadataStore, pipeline: VideoPipeline) -> None:
    """Empty strings stay empty strings, nulls stay nulls, numbers keep their type."""
    video = pipeline.video
    rows = root_samples(4).with_columns(
        path=pl.Series(["", None, 'a,b "quoted"', "line\nbreak"]),
        duration_s=pl.Series([0.0, None, 1.5, -2.25]),
    )
    store.write(video, rows)
    frame = store.read(video)
    assert frame["path"].to_list() == ["", None, 'a,b "quoted"', "line\nbreak"]
    assert frame["duration_s"].to_list() == [0.0, None, 1.5, -2.25]


def test_store_fills_its_columns(store: mx.MetadataStore, pipeline: VideoPipeline) -> None:
    """Feature version, snapshot and write time come from the store, whatever the rows say."""
    video = pipeline.video
    old = dt.datetime(2001, 1, 1, tzinfo=dt.UTC)
    rows = root_samples(3).with_columns(
        metaxy_feature_version=pl.lit("bogus"),
        metaxy_snapshot_version=pl.lit("bogus"),
        metaxy_created_at=pl.lit(old),
        metaxy_materialization_id=pl.lit("from-rows"),
    )
    store.write(video, rows)
    frame = store.read(video)
    reference = video_reference()
    assert frame["metaxy_feature_version"].to_list() == [reference.feature_version("video", 8)] * 3
    assert frame["metaxy_snapshot_version"].to_list() == [reference.snapshot_version(8)] * 3
    assert all(c > old for c in frame["metaxy_created_at"].to_list())
    # a materialization id in the rows is kept when the argument is not given
    assert frame["metaxy_materialization_id"].to_list() == ["from-rows"] * 3
    store.write(video, root_samples(3, audio={"s000": "x"}), materialization_id="run-2")
    assert store.read(video)["metaxy_materialization_id"].to_list() == ["run-2"] * 3


def test_explicit_versions_that_match_are_accepted(
    store: mx.MetadataStore, pipeline: VideoPipeline
) -> None:
    video = pipeline.video
    samples = root_samples(4)
    inc = store.resolve_update(video, samples=samples)
    rows = inc.new.with_columns(
        pl.col(AUDIO).alias("metaxy_data_version__audio"),
        pl.col(FRAMES).alias("metaxy_data_version__frames"),
        pl.col("metaxy_provenance").alias("metaxy_data_version"),
    )
    assert store.write(video, rows) == 4
    assert store.resolve_update(video, samples=samples).is_empty()


# -- refused batches -----------------------------------------------------------------------


def valid_faces() -> list[dict[str, Any]]:
    return [{"sample_uid": f"n{i}", FACES: f"p{i}", "num_faces": i} for i in range(5)]


def _set(index: int, **values: Any) -> Callable[[], list[dict[str, Any]]]:
    def build() -> list[dict[str, Any]]:
        rows = valid_faces()
        rows[index] = {**rows[index], **values}
        return rows

    return build


def _drop(column: str) -> Callable[[], list[dict[str, Any]]]:
    def build() -> list[dict[str, Any]]:
        return [{k: v for k, v in row.items() if k != column} for row in valid_faces()]

    return build


def _duplicate() -> list[dict[str, Any]]:
    rows = valid_faces()
    return [*rows, {**rows[1], FACES: "other"}]


BAD_BATCHES: dict[str, tuple[Callable[[], list[dict[str, Any]]], list[str]]] = {
    "missing id column": (_drop("sample_uid"), ["sample_uid"]),
    "missing provenance column": (_drop(FACES), [FACES]),
    "null provenance": (_set(2, **{FACES: None}), [FACES, "null"]),
    "null id": (_set(3, sample_uid=None), ["sample_uid", "null"]),
    "string in int column": (_set(2, num_faces="three"), ["num_faces"]),
    "same sample twice": (_duplicate, ["n1"]),
    "unknown column": (_set(0, colour="red"), ["colour"]),
    "wrong row provenance": (
        lambda: [{**row, "metaxy_provenance": "deadbeef"} for row in valid_faces()],
        ["metaxy_provenance", "n0"],
    ),
    "wrong row data version": (
        _set(4, metaxy_data_version="deadbeef"),
        ["metaxy_data_version", "n4"],
    ),
}


@pytest.mark.parametrize("as_polars", [False, True], ids=["dicts", "polars"])
@pytest.mark.parametrize("case", sorted(BAD_BATCHES))
def test_bad_batch_is_refused_and_nothing_written(
    store: mx.MetadataStore, pipeline: VideoPipeline, case: str, as_polars: bool
) -> None:
    face_detection = pipeline.face_detection
    existing = [{**row, "sample_uid": f"old-{row['sample_uid']}"} for row in valid_faces()]
    store.write(face_detection, existing)
    build, names = BAD_BATCHES[case]
    rows: Any = build()
    if as_polars:
        if case == "string in int column":
            rows = pl.DataFrame(rows, schema_overrides={"num_faces": pl.String})
        else:
            rows = pl.DataFrame(rows, infer_schema_length=None)
    before = history_rows(store, face_detection)
    with pytest.raises(mx.InvalidRowsError) as info:
        store.write(face_detection, rows)
    message = str(info.value)
    assert "face_detection" in message
    for name in names:
        assert name in message, (name, message)
    assert history_rows(store, face_detection) == before
    assert len(before) == len(existing)


@pytest.mark.parametrize("rows", [{"sample_uid": "n0"}, "n0", [1, 2]], ids=["dict", "str", "ints"])
def test_rows_that_are_not_rows_are_refused(
    store: mx.MetadataStore, pipeline: VideoPipeline, rows: Any
) -> None:
    with pytest.raises(mx.InvalidRowsError, match="face_detection"):
        store.write(pipeline.face_detection, rows)
    assert store.read(pipeline.face_detection, history=True).is_empty()


def test_missing_provenance_for_one_field_of_many(
    store: mx.MetadataStore, pipeline: VideoPipeline
) -> None:
    with pytest.raises(mx.InvalidRowsError) as info:
        store.write(pipeline.crop, [{"sample_uid": "s0", AUDIO: "a"}])
    assert FRAMES in str(info.value)
    assert AUDIO not in str(info.value).split("missing")[1]
    assert store.read(pipeline.crop, history=True).is_empty()


def test_fractional_float_in_int_column_is_refused(
    store: mx.MetadataStore, pipeline: VideoPipeline
) -> None:
    """1.5 faces is not an integer: it must not be silently stored as 1."""
    rows = [
        {**row, "num_faces": 1.5 if i == 2 else float(i)} for i, row in enumerate(valid_faces())
    ]
    with pytest.raises(mx.InvalidRowsError, match="num_faces"):
        store.write(pipeline.face_detection, rows)
    assert store.read(pipeline.face_detection, history=True).is_empty()


def test_write_is_atomic_when_the_database_refuses_a_row(
    store: mx.MetadataStore, pipeline: VideoPipeline, engine: sa.Engine
) -> None:
    """A row only the database refuses (a unique index the model does not know) writes no row
    at all, the error is ours and names the feature; the store stays usable. ``int`` columns
    are 64-bit, so 2**40 is an ordinary value everywhere."""
    face_detection = pipeline.face_detection
    rows = valid_faces()
    if store.backend.enforces_constraints:  # ClickHouse has no unique index to refuse a row
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE UNIQUE INDEX ux_faces ON face_detection (num_faces)"))
        rows[-1]["num_faces"] = rows[0]["num_faces"]
        with pytest.raises(mx.StoreDatabaseError, match="feature 'face_detection'"):
            store.write(face_detection, rows)
        assert store.read(face_detection, history=True).is_empty()
    rows[-1]["num_faces"] = 2**40
    assert store.write(face_detection, rows) == len(rows)
    assert store.read(face_detection)["num_faces"].to_list()[-1] == 2**40
