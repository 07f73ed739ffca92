"""SQLite's direct bulk insert (rows straight into ``sqlite3.executemany``) stores exactly what
SQLAlchemy's own insert stores, and gives way to it where a column needs its processing."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
import sqlalchemy as sa

import metaxy_orm as mx
from example_app.pipeline import VideoPipeline

from .conftest import root_samples

pytestmark = pytest.mark.only_backends("sqlite")


def raw(engine: sa.Engine, sql: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql).all()]


def test_stored_text_is_what_sqlalchemy_stores(
    store: mx.MetadataStore, pipeline: VideoPipeline, engine: sa.Engine
) -> None:
    rows = root_samples(3).with_columns(duration_s=pl.Series([1.5, None, 2.25]))
    store.write(pipeline.video, rows)
    table = pipeline.video.__table__  # type: ignore[attr-defined]
    stored = store.read(pipeline.video)
    direct = raw(
        engine,
        "SELECT sample_uid, metaxy_created_at, typeof(metaxy_created_at), path, duration_s "
        "FROM video ORDER BY sample_uid",
    )
    # What SQLAlchemy's own insert would store for the same times, text for text.
    when = stored["metaxy_created_at"][0]
    assert isinstance(when, dt.datetime)
    assert when.tzinfo is not None
    process = table.c.metaxy_created_at.type.dialect_impl(engine.dialect).bind_processor(
        engine.dialect
    )
    assert [r[1] for r in direct] == [process(t) for t in stored["metaxy_created_at"]]
    assert {r[2] for r in direct} == {"text"}
    assert [r[3] for r in direct] == rows["path"].to_list()
    assert [r[4] for r in direct] == [1.5, None, 2.25]
    assert (
        store.read(pipeline.video)
        .drop("metaxy_created_at")
        .equals(stored.drop("metaxy_created_at"))
    )


def test_a_later_write_is_the_latest(store: mx.MetadataStore, pipeline: VideoPipeline) -> None:
    """Write times stored as text still order a sample's rows (fixed-width, zero-padded)."""
    store.write(pipeline.video, root_samples(2).with_columns(path=pl.lit("/first")))
    store.write(pipeline.video, root_samples(2).with_columns(path=pl.lit("/second")))
    assert store.read(pipeline.video)["path"].to_list() == ["/second", "/second"]


def test_columns_needing_processing_take_the_portable_path(
    bare_store: mx.MetadataStore, engine: sa.Engine
) -> None:
    class Clip(
        mx.Feature, table=True, spec=mx.FeatureSpec(key="clip", id_columns=["uid"], fields=["a"])
    ):
        uid: str
        day: dt.date | None = None
        flag: bool | None = None

    Clip.metadata.create_all(engine)
    rows = pl.DataFrame(
        {
            "uid": ["x", "y"],
            "metaxy_provenance__a": ["p1", "p2"],
            "day": [dt.date(2024, 1, 2), None],
            "flag": [True, False],
        }
    )
    bare_store.write(Clip, rows)
    back = bare_store.read(Clip)
    assert back["day"].to_list() == [dt.date(2024, 1, 2), None]
    assert back["flag"].to_list() == [True, False]
