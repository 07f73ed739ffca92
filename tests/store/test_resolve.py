"""``resolve_update``: new, stale and orphaned samples, field-level pruning, code versions."""

from __future__ import annotations

import polars as pl
import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

import metaxy_orm as mx
from example_app.pipeline import VideoPipeline

from .conftest import (
    AUDIO,
    FRAMES,
    N_SAMPLES,
    redefined_pipeline,
    root_samples,
    root_values,
    run_workflow,
    sample_uid,
    uids,
    video_reference,
)
from .reference import IdKey, data_version_column, provenance_column

CHANGED = [sample_uid(i) for i in (1, 4, 7, 10, 19)]
ALL = {sample_uid(i) for i in range(N_SAMPLES)}


def stored_field_values(
    store: mx.MetadataStore, feature: type[mx.Feature], kind: str = "data_version"
) -> dict[IdKey, dict[str, str]]:
    """Per-field data versions (or provenance) of a feature's latest rows, by sample."""
    column = data_version_column if kind == "data_version" else provenance_column
    fields = [str(k) for k in feature.feature_spec().field_keys]
    return {
        (row["sample_uid"],): {f: row[column(f)] for f in fields}
        for row in store.read(feature).iter_rows(named=True)
    }


def assert_nothing_to_do(
    store: mx.MetadataStore, pipeline: VideoPipeline, samples: pl.DataFrame
) -> None:
    video, *downstream = pipeline
    assert store.resolve_update(video, samples=samples).is_empty()
    for feature in downstream:
        inc = store.resolve_update(feature)
        assert inc.is_empty(), (feature.feature_key(), inc)


def test_first_run_everything_is_new(store: mx.MetadataStore, pipeline: VideoPipeline) -> None:
    video, crop, face_detection, stt = pipeline
    samples = root_samples()
    inc = store.resolve_update(video, samples=samples)
    assert uids(inc.new) == ALL
    assert inc.stale.is_empty()
    assert inc.orphaned.is_empty()
    # extra sample columns are carried into `new`, ready to be written
    assert inc.new["path"].to_list() == samples.sort("sample_uid")["path"].to_list()
    # empty frames keep their columns
    assert inc.stale.columns == [
        *inc.new.columns,
        *(f"metaxy_changed__{f}" for f in ("audio", "frames")),
    ]
    assert {"sample_uid", AUDIO, FRAMES, "metaxy_provenance"} <= set(inc.orphaned.columns)
    # downstream of an empty parent: nothing is expected yet
    for feature in (crop, face_detection, stt):
        assert store.resolve_update(feature).is_empty()
    store.write(video, inc.new)
    assert uids(store.resolve_update(crop).new) == ALL
    assert uids(store.resolve_update(stt).new) == ALL
    assert store.resolve_update(face_detection).is_empty()  # crop has no rows yet


def test_noop_after_everything_written(
    store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame
) -> None:
    assert_nothing_to_do(store, pipeline, computed)
    # a second full run writes nothing
    increments = run_workflow(store, pipeline, computed)
    assert all(inc.is_empty() for inc in increments.values())
    video, *_ = pipeline
    assert store.read(video, history=True).height == N_SAMPLES


def test_samples_as_list_of_dicts_equal_polars(
    store: mx.MetadataStore, pipeline: VideoPipeline
) -> None:
    video = pipeline.video
    samples = root_samples()
    from_polars = store.resolve_update(video, samples=samples)
    from_dicts = store.resolve_update(video, samples=samples.to_dicts())
    assert from_dicts.new.equals(from_polars.new)
    # ids only + provenance, no extra columns
    minimal = samples.drop("path").to_dicts()
    inc = store.resolve_update(video, samples=minimal)
    assert inc.new.columns == ["sample_uid", AUDIO, FRAMES, "metaxy_provenance"]
    assert inc.new.equals(from_polars.new.drop("path"))


def test_audio_change_prunes_face_detection(
    store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame
) -> None:
    video, crop, face_detection, stt = pipeline
    samples = root_samples(audio={u: f"audio-v2-{u}" for u in CHANGED})
    crop_before = stored_field_values(store, crop, "provenance")

    inc = store.resolve_update(video, samples=samples)
    assert uids(inc.stale) == set(CHANGED)
    assert inc.new.is_empty()
    assert inc.orphaned.is_empty()
    assert inc.stale["path"].to_list() == [f"/videos/{u}.mp4" for u in sorted(CHANGED)]
    store.write(video, inc.stale)

    crop_inc = store.resolve_update(crop)
    stt_inc = store.resolve_update(stt)
    assert uids(crop_inc.stale) == set(CHANGED)
    assert uids(stt_inc.stale) == set(CHANGED)
    for frame in (crop_inc.new, crop_inc.orphaned, stt_inc.new, stt_inc.orphaned):
        assert frame.is_empty()
    assert store.resolve_update(face_detection).is_empty()

    # the expected provenance is the reference's; only the audio part moved
    reference = video_reference()
    expected = reference.expected_provenance("crop", {"video": root_values(samples)}, "md5", 8)
    for row in crop_inc.stale.iter_rows(named=True):
        key = (row["sample_uid"],)
        assert row[AUDIO] == expected[key]["audio"] != crop_before[key]["audio"]
        assert row[FRAMES] == expected[key]["frames"] == crop_before[key]["frames"]

    store.write(crop, crop_inc.stale)
    store.write(stt, stt_inc.stale)
    # crop's frames did not change, so face detection has still nothing to do
    assert store.resolve_update(face_detection).is_empty()
    assert_nothing_to_do(store, pipeline, samples)


def test_frames_change_prunes_stt(
    store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame
) -> None:
    video, crop, face_detection, stt = pipeline
    samples = root_samples(frames={u: f"frames-v2-{u}" for u in CHANGED})
    inc = store.resolve_update(video, samples=samples)
    assert uids(inc.stale) == set(CHANGED)
    store.write(video, inc.stale)

    crop_inc = store.resolve_update(crop)
    assert uids(crop_inc.stale) == set(CHANGED)
    assert crop_inc.new.is_empty()
    assert store.resolve_update(stt).is_empty()
    # face detection reads crop's latest rows, which are not rewritten yet
    assert store.resolve_update(face_detection).is_empty()

    store.write(crop, crop_inc.stale)
    faces = store.resolve_update(face_detection)
    assert uids(faces.stale) == set(CHANGED)
    assert faces.new.is_empty()
    assert faces.orphaned.is_empty()
    reference = video_reference()
    expected = reference.expected_provenance(
        "face_detection", {"crop": stored_field_values(store, crop)}, "md5", 8
    )
    column = provenance_column("faces")
    for row in faces.stale.iter_rows(named=True):
        assert row[column] == expected[(row["sample_uid"],)]["faces"]
    store.write(face_detection, faces.stale)
    assert store.resolve_update(stt).is_empty()
    assert_nothing_to_do(store, pipeline, samples)


def test_new_samples_propagate(
    store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame
) -> None:
    video, crop, face_detection, stt = pipeline
    samples = root_samples(N_SAMPLES + 6)
    added = {sample_uid(i) for i in range(N_SAMPLES, N_SAMPLES + 6)}
    inc = store.resolve_update(video, samples=samples)
    assert uids(inc.new) == added
    assert inc.stale.is_empty()
    assert inc.orphaned.is_empty()
    store.write(video, inc.new)
    for feature in (crop, stt):
        downstream = store.resolve_update(feature)
        assert uids(downstream.new) == added
        assert downstream.stale.is_empty()
        assert downstream.orphaned.is_empty()
    assert store.resolve_update(face_detection).is_empty()
    store.write(crop, store.resolve_update(crop).new)
    assert uids(store.resolve_update(face_detection).new) == added


def test_orphaned_samples(
    engine: sa.Engine, store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame
) -> None:
    """A sample gone from the root samples is orphaned in video; downstream features see it
    only once their parent has no latest row for it (here: rows deleted by the user)."""
    video, crop, face_detection, stt = pipeline
    gone = sample_uid(3)
    samples = computed.filter(pl.col("sample_uid") != gone)
    stored_video = store.read(video).filter(pl.col("sample_uid") == gone)

    inc = store.resolve_update(video, samples=samples)
    assert uids(inc.orphaned) == {gone}
    assert inc.new.is_empty()
    assert inc.stale.is_empty()
    # orphaned rows carry the stored provenance
    for column in (AUDIO, FRAMES, "metaxy_provenance"):
        assert inc.orphaned[column].to_list() == stored_video[column].to_list()
    # video still has its latest row: nothing is orphaned downstream yet
    for feature in (crop, face_detection, stt):
        assert store.resolve_update(feature).is_empty()

    tables = SQLModel.metadata.tables
    with engine.begin() as conn:
        conn.execute(sa.delete(tables["video"]).where(tables["video"].c.sample_uid == gone))
    stored_crop = store.read(crop).filter(pl.col("sample_uid") == gone)
    for feature in (crop, stt):
        downstream = store.resolve_update(feature)
        assert uids(downstream.orphaned) == {gone}
        assert downstream.new.is_empty()
        assert downstream.stale.is_empty()
    crop_orphaned = store.resolve_update(crop).orphaned
    for column in (AUDIO, FRAMES, "metaxy_provenance"):
        assert crop_orphaned[column].to_list() == stored_crop[column].to_list()
    assert store.resolve_update(face_detection).is_empty()  # crop still has the sample

    with engine.begin() as conn:
        conn.execute(sa.delete(tables["crop"]).where(tables["crop"].c.sample_uid == gone))
    assert uids(store.resolve_update(face_detection).orphaned) == {gone}
    assert store.resolve_update(video, samples=samples).is_empty()


def test_mixed_increment(
    engine: sa.Engine, store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame
) -> None:
    """New, stale and orphaned at once, each sample in exactly one of them."""
    video, crop, _, _ = pipeline
    samples = root_samples(N_SAMPLES + 3, audio={sample_uid(5): "x", sample_uid(6): "y"})
    store.write(video, store.resolve_update(video, samples=samples).to_compute)
    tables = SQLModel.metadata.tables
    with engine.begin() as conn:
        conn.execute(sa.delete(tables["video"]).where(tables["video"].c.sample_uid == "s000"))
    inc = store.resolve_update(crop)
    assert uids(inc.new) == {sample_uid(i) for i in range(N_SAMPLES, N_SAMPLES + 3)}
    assert uids(inc.stale) == {sample_uid(5), sample_uid(6)}
    assert uids(inc.orphaned) == {"s000"}
    assert len(inc) == 6
    assert inc.to_compute.height == 5


def test_code_version_bump(
    engine: sa.Engine, store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame
) -> None:
    """Rows written under an older feature version are stale (never new) after a bump."""
    old_crop_versions = store.read(pipeline.crop)["metaxy_feature_version"].unique().to_list()
    with redefined_pipeline({"crop.frames": "2"}) as bumped:
        video, crop, face_detection, stt = bumped
        reference = video_reference({"crop.frames": "2"})
        assert crop.feature_version() == reference.feature_version("crop", 8)
        assert [crop.feature_version()] != old_crop_versions

        assert store.resolve_update(video, samples=computed).is_empty()
        assert store.resolve_update(stt).is_empty()
        inc = store.resolve_update(crop)
        assert uids(inc.stale) == ALL
        assert inc.new.is_empty()
        assert inc.orphaned.is_empty()
        expected = reference.expected_provenance("crop", {"video": root_values(computed)}, "md5", 8)
        for row in inc.stale.iter_rows(named=True):
            key = (row["sample_uid"],)
            assert (row[AUDIO], row[FRAMES]) == (expected[key]["audio"], expected[key]["frames"])

        # face detection's own feature version changed with crop.frames's field version
        faces = store.resolve_update(face_detection)
        assert uids(faces.stale) == ALL
        assert faces.new.is_empty()

        store.write(crop, inc.stale)
        faces = store.resolve_update(face_detection)
        assert uids(faces.stale) == ALL
        store.write(face_detection, faces.stale)
        assert_nothing_to_do(store, bumped, computed)

        # reading rows of both feature versions is allowed: the latest ones are the new ones
        # (video and stt were not rewritten: they keep the snapshot of the first graph)
        roots = {"video": root_values(computed)}
        rewritten = reference.simulate(roots, "md5", 8)
        untouched = video_reference().simulate(roots, "md5", 8)
        for feature in bumped:
            name = str(feature.feature_key())
            expected_rows = rewritten if name in ("crop", "face_detection") else untouched
            frame = store.read(feature)
            assert frame.height == N_SAMPLES
            for row in frame.iter_rows(named=True):
                want = expected_rows[name][(row["sample_uid"],)]
                assert {c: row[c] for c in want} == want, name
        assert store.read(crop, history=True).height == 2 * N_SAMPLES
        assert store.read(stt, history=True).height == N_SAMPLES


def test_data_version_override_stops_propagation(
    store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame
) -> None:
    video, crop, face_detection, stt = pipeline
    before = {r["sample_uid"]: r for r in store.read(crop).iter_rows(named=True)}
    overridden = CHANGED[:3]  # the new crops have the same content as before
    samples = root_samples(frames={u: f"frames-v2-{u}" for u in CHANGED})
    store.write(video, store.resolve_update(video, samples=samples).stale)
    inc = store.resolve_update(crop)
    assert uids(inc.stale) == set(CHANGED)

    dv_frames = data_version_column("frames")
    content_hash = pl.col("sample_uid").replace_strict(
        {u: before[u][dv_frames] for u in overridden}, default=None, return_dtype=pl.String
    )
    store.write(crop, inc.stale.with_columns(content_hash.alias(dv_frames)))

    reference = video_reference()
    after = {r["sample_uid"]: r for r in store.read(crop).iter_rows(named=True)}
    for uid in CHANGED:
        row = after[uid]
        provenance = {"audio": row[AUDIO], "frames": row[FRAMES]}
        data_versions = {"audio": row[data_version_column("audio")], "frames": row[dv_frames]}
        assert row[FRAMES] != before[uid][FRAMES]
        assert row["metaxy_provenance"] == reference.row_hash("crop", provenance, "md5", 8)
        assert row["metaxy_data_version"] == reference.row_hash("crop", data_versions, "md5", 8)
        if uid in overridden:
            assert row[dv_frames] == before[uid][dv_frames]
            assert row["metaxy_data_version"] == before[uid]["metaxy_data_version"]
            assert row["metaxy_data_version"] != row["metaxy_provenance"]
        else:
            assert row[dv_frames] == row[FRAMES]
            assert row["metaxy_data_version"] == row["metaxy_provenance"]

    faces = store.resolve_update(face_detection)
    assert uids(faces.stale) == set(CHANGED) - set(overridden)
    assert faces.new.is_empty()
    assert faces.orphaned.is_empty()
    assert store.resolve_update(stt).is_empty()
    # the override does not make crop stale: its provenance is what was expected
    assert store.resolve_update(crop).is_empty()


# -- bad samples ---------------------------------------------------------------------------


def test_root_without_samples_is_refused(store: mx.MetadataStore, pipeline: VideoPipeline) -> None:
    with pytest.raises(mx.InvalidRowsError) as info:
        store.resolve_update(pipeline.video)
    message = str(info.value)
    assert "video" in message
    assert AUDIO in message
    assert FRAMES in message


def test_samples_for_downstream_feature_are_refused(
    store: mx.MetadataStore, pipeline: VideoPipeline
) -> None:
    with pytest.raises(mx.InvalidRowsError, match="crop") as info:
        store.resolve_update(pipeline.crop, samples=root_samples())
    assert "samples" in str(info.value)


@pytest.mark.parametrize(
    ("case", "names"),
    [
        ("missing provenance column", [FRAMES]),
        ("missing id column", ["sample_uid"]),
        ("null provenance", [AUDIO, "null"]),
        ("null id", ["sample_uid", "null"]),
        ("duplicate sample", ["more than once"]),
        ("not rows", ["dict"]),
    ],
)
def test_bad_root_samples_are_refused(
    store: mx.MetadataStore, pipeline: VideoPipeline, case: str, names: list[str]
) -> None:
    samples = root_samples(5)
    bad: object
    if case == "missing provenance column":
        bad = samples.drop(FRAMES)
    elif case == "missing id column":
        bad = samples.drop("sample_uid")
    elif case == "null provenance":
        bad = samples.with_columns(
            pl.when(pl.col("sample_uid") == "s002").then(None).otherwise(pl.col(AUDIO)).alias(AUDIO)
        )
    elif case == "null id":
        bad = samples.with_columns(
            pl.when(pl.col(AUDIO) == "audio-s002")
            .then(None)
            .otherwise(pl.col("sample_uid"))
            .alias("sample_uid")
        )
    elif case == "duplicate sample":
        bad = pl.concat([samples, samples.head(1)])
    else:
        bad = samples.row(0, named=True)
    with pytest.raises(mx.InvalidRowsError) as info:
        store.resolve_update(pipeline.video, samples=bad)  # type: ignore[arg-type]
    message = str(info.value)
    assert "video" in message
    for name in names:
        assert name in message, (name, message)
    assert store.read(pipeline.video, history=True).is_empty()


def test_empty_list_of_root_samples_orphans_everything(
    store: mx.MetadataStore, pipeline: VideoPipeline
) -> None:
    """No sample expected any more: every stored video is orphaned, none is new or stale."""
    samples = root_samples()
    store.write(pipeline.video, store.resolve_update(pipeline.video, samples).new)
    inc = store.resolve_update(pipeline.video, [])
    assert inc.new.is_empty()
    assert inc.stale.is_empty()
    assert sorted(inc.orphaned["sample_uid"].to_list()) == sorted(samples["sample_uid"].to_list())
