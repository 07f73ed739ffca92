"""One definition of "latest row per sample", also when two rows share ``metaxy_created_at``.

Two processes can write the same sample in the same microsecond. Every path (``read``,
``mx.latest``, ``resolve_update``, ``status``, reconcile, cleanup) must then pick the same single
row: the one with the greatest ``metaxy_data_version`` (``metaxy_orm.columns.newest_first``).
"""

from __future__ import annotations

from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlmodel import Session

import metaxy_orm as mx
from example_app.pipeline import VideoPipeline

from .conftest import AUDIO, N_SAMPLES, redefined_pipeline, root_samples, sample_uid

TIED = sample_uid(3)


def add_tied_row(engine: sa.Engine, video: type[mx.Feature], store: mx.MetadataStore) -> str:
    """Insert a second row of TIED with the same write time and another data version.

    Returns the path of the row that must win (the greater data version).
    """
    table: sa.Table = video.__table__  # type: ignore[attr-defined]
    first = store.read(video).filter(pl.col("sample_uid") == TIED).to_dicts()[0]
    other: dict[str, Any] = dict(first)
    other[AUDIO] = "audio-tied"
    # any other data version; which one wins depends only on the order of the two values
    other["metaxy_data_version"] = "z" * len(first["metaxy_data_version"])
    other["metaxy_data_version__audio"] = "audio-tied"
    other["metaxy_provenance"] = "tied"
    other["path"] = "/videos/tied.mp4"
    with engine.begin() as conn:
        conn.execute(sa.insert(table), [other])
    winner = max([first, other], key=lambda row: row["metaxy_data_version"])
    return str(winner["path"])


def tied_setup(
    engine: sa.Engine, store: mx.MetadataStore, pipeline: VideoPipeline
) -> tuple[str, pl.DataFrame]:
    samples = root_samples()
    store.write(pipeline.video, samples)
    return add_tied_row(engine, pipeline.video, store), samples


def test_read_and_orm_latest_pick_the_same_single_row(
    engine: sa.Engine, store: mx.MetadataStore, pipeline: VideoPipeline
) -> None:
    video = pipeline.video
    winner, _ = tied_setup(engine, store, pipeline)
    history = store.read(video, history=True)
    tied = history.filter(pl.col("sample_uid") == TIED)
    assert tied.height == 2
    assert tied["metaxy_created_at"].n_unique() == 1  # truly the same instant

    latest = store.read(video)
    assert latest.height == N_SAMPLES
    assert latest.filter(pl.col("sample_uid") == TIED)["path"].to_list() == [winner]

    with Session(engine) as session:
        rows = session.exec(mx.latest(video)).all()
        assert len(rows) == N_SAMPLES
        tied_rows = [r for r in rows if r.sample_uid == TIED]  # type: ignore[attr-defined]
        assert [r.path for r in tied_rows] == [winner]  # type: ignore[attr-defined]


def test_resolve_and_status_see_only_the_winner(
    engine: sa.Engine, store: mx.MetadataStore, pipeline: VideoPipeline
) -> None:
    video, crop, _, stt = pipeline
    winner, _ = tied_setup(engine, store, pipeline)
    with_tie = store.resolve_update(crop).new
    stt_with_tie = store.resolve_update(stt).new
    assert with_tie.height == N_SAMPLES  # one expected row per sample, not two for TIED
    status = {s.feature: s for s in store.status()}
    assert (status["video"].rows, status["video"].samples) == (N_SAMPLES + 1, N_SAMPLES)
    assert status["crop"].new == N_SAMPLES
    assert status["stt"].new == N_SAMPLES

    # The same answer as when the losing row never existed.
    table: sa.Table = video.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(sa.delete(table).where(table.c.sample_uid == TIED, table.c.path != winner))
    assert store.read(video, history=True).height == N_SAMPLES
    without_tie = store.resolve_update(crop).new
    assert with_tie.equals(without_tie)
    assert stt_with_tie.equals(store.resolve_update(stt).new)


def test_cleanup_keeps_the_winner(
    engine: sa.Engine, store: mx.MetadataStore, pipeline: VideoPipeline
) -> None:
    winner, _ = tied_setup(engine, store, pipeline)
    assert store.cleanup(pipeline.video, keep_last=1) == 1
    tied = store.read(pipeline.video, history=True).filter(pl.col("sample_uid") == TIED)
    assert tied["path"].to_list() == [winner]


def test_reconcile_copies_the_winner(
    engine: sa.Engine, store: mx.MetadataStore, pipeline: VideoPipeline
) -> None:
    winner, _ = tied_setup(engine, store, pipeline)
    with redefined_pipeline({"video.frames": "2"}) as bumped:
        written = store.reconcile(bumped.video, materialization_id="bump")
        assert written == N_SAMPLES
        latest = store.read(bumped.video)
        assert latest.filter(pl.col("sample_uid") == TIED)["path"].to_list() == [winner]
        assert store.resolve_update(bumped.video, samples=latest).is_empty()
