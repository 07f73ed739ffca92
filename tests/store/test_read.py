"""``read`` and ``mx.latest``: the latest row per sample wins; history keeps every row."""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

import metaxy_orm as mx
from example_app.pipeline import VideoPipeline

from .conftest import AUDIO, N_SAMPLES, root_samples, sample_uid

TWICE = [sample_uid(i) for i in (2, 5, 11)]


def write_twice(store: mx.MetadataStore, pipeline: VideoPipeline) -> pl.DataFrame:
    """Every sample once, then a second version of the samples in TWICE; returns the latter."""
    video = pipeline.video
    store.write(video, root_samples())
    second = root_samples(audio={u: f"audio-v2-{u}" for u in TWICE}).filter(
        pl.col("sample_uid").is_in(TWICE)
    )
    store.write(video, second.with_columns(path=pl.lit("second")))
    return second


def test_read_returns_latest_row_per_sample(
    store: mx.MetadataStore, pipeline: VideoPipeline
) -> None:
    write_twice(store, pipeline)
    latest = store.read(pipeline.video)
    assert latest.height == N_SAMPLES
    assert latest["sample_uid"].to_list() == [sample_uid(i) for i in range(N_SAMPLES)]
    for row in latest.iter_rows(named=True):
        if row["sample_uid"] in TWICE:
            assert (row["path"], row[AUDIO]) == ("second", f"audio-v2-{row['sample_uid']}")
        else:
            assert row["path"] == f"/videos/{row['sample_uid']}.mp4"

    history = store.read(pipeline.video, history=True)
    assert history.height == N_SAMPLES + len(TWICE)
    assert history.columns == latest.columns
    for uid in TWICE:
        rows = history.filter(pl.col("sample_uid") == uid)
        assert rows["path"].to_list() == [f"/videos/{uid}.mp4", "second"]  # oldest first
        first, second = rows["metaxy_created_at"].to_list()
        assert first < second


def test_same_content_written_twice(store: mx.MetadataStore, pipeline: VideoPipeline) -> None:
    """Writing identical rows again appends (append-only) and read still gives one per sample."""
    video = pipeline.video
    samples = root_samples(5)
    store.write(video, samples)
    store.write(video, samples.with_columns(path=pl.lit("again")))
    assert store.read(video, history=True).height == 10
    assert store.read(video)["path"].to_list() == ["again"] * 5


def test_latest_in_an_orm_session(
    engine: sa.Engine, store: mx.MetadataStore, pipeline: VideoPipeline
) -> None:
    video, crop, _, _ = pipeline
    write_twice(store, pipeline)
    with Session(engine) as session:
        rows = session.exec(mx.latest(video)).all()
        assert len(rows) == N_SAMPLES
        assert all(isinstance(r, video) for r in rows)
        by_uid = {r.sample_uid: r for r in rows}  # type: ignore[attr-defined]
        for uid in TWICE:
            assert by_uid[uid].path == "second"  # type: ignore[attr-defined]
            assert getattr(by_uid[uid], AUDIO) == f"audio-v2-{uid}"

        # .where() on the feature's own columns
        uid_column = col(video.sample_uid)  # type: ignore[attr-defined]
        one = session.exec(mx.latest(video).where(uid_column == TWICE[0])).all()
        assert len(one) == 1
        assert one[0].path == "second"  # type: ignore[attr-defined]
        # a sample whose older row matches the condition but whose latest does not
        old_path = col(video.path) == f"/videos/{TWICE[0]}.mp4"  # type: ignore[attr-defined]
        assert session.exec(mx.latest(video).where(old_path)).all() == []

        # .order_by()
        ordered = session.exec(mx.latest(video).order_by(uid_column.desc())).all()
        assert [r.sample_uid for r in ordered] == [  # type: ignore[attr-defined]
            sample_uid(i) for i in reversed(range(N_SAMPLES))
        ]

    # a join with another feature's latest rows
    store.write(crop, store.resolve_update(crop).new.with_columns(path=pl.lit("crop-1")))
    store.write(
        crop,
        store.read(crop)
        .filter(pl.col("sample_uid") == TWICE[1])
        .select("sample_uid", AUDIO, "metaxy_provenance__frames")
        .with_columns(path=pl.lit("crop-2")),
    )
    latest_video = aliased(video, mx.latest(video).subquery("latest_video"))
    with Session(engine) as session:
        joined = mx.latest(crop).join(
            latest_video,
            col(latest_video.sample_uid) == col(crop.sample_uid),  # type: ignore[attr-defined]
        )
        crops = session.exec(
            joined.where(col(latest_video.path) == "second").order_by(  # type: ignore[attr-defined]
                col(crop.sample_uid)  # type: ignore[attr-defined]
            )
        ).all()
        assert [c.sample_uid for c in crops] == TWICE  # type: ignore[attr-defined]
        assert [c.path for c in crops] == ["crop-1", "crop-2", "crop-1"]  # type: ignore[attr-defined]


def test_latest_objects_match_read(
    engine: sa.Engine, store: mx.MetadataStore, pipeline: VideoPipeline
) -> None:
    write_twice(store, pipeline)
    frame = store.read(pipeline.video)
    with Session(engine) as session:
        objects = session.exec(mx.latest(pipeline.video)).all()
        dumped = sorted((o.model_dump() for o in objects), key=lambda d: d["sample_uid"])
    assert [{k: d[k] for k in frame.columns} for d in dumped] == frame.to_dicts()
