"""Calls that could wipe or hide data refuse bad selectors; database errors speak metaxy-orm.

- destructive operations refuse missing or empty selectors (``None`` would select every row an
  ordinary write made, through ``IS NULL``), and change nothing;
- a missing table or column is a :class:`~metaxy_orm.MissingSchemaError` that says to run the
  migrations, on every store call, never a raw driver error;
- something that is not a feature class is refused with a clear error.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

import metaxy_orm as mx
from example_app.pipeline import VideoPipeline
from metaxy_orm._backends import capabilities_for

from .conftest import history_rows, root_samples

BAD_IDS = [None, "", "   ", 0]


def _snapshot(store: mx.MetadataStore, pipeline: VideoPipeline) -> list[list[dict[str, Any]]]:
    return [history_rows(store, f) for f in pipeline]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_delete_materialization_refuses_missing_id(
    store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame, bad: Any
) -> None:
    before = _snapshot(store, pipeline)
    with pytest.raises(mx.InvalidRowsError, match="materialization_id must be a non-empty"):
        store.delete_materialization(pipeline.crop, bad)
    assert _snapshot(store, pipeline) == before


@pytest.mark.parametrize("bad", BAD_IDS)
def test_reconcile_refuses_missing_id(
    store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame, bad: Any
) -> None:
    before = _snapshot(store, pipeline)
    with pytest.raises(mx.InvalidRowsError, match="materialization_id must be a non-empty"):
        store.reconcile(pipeline.crop, materialization_id=bad)
    assert _snapshot(store, pipeline) == before


@pytest.mark.parametrize("bad", BAD_IDS)
def test_backfill_refuses_missing_id(
    store: mx.MetadataStore, pipeline: VideoPipeline, bad: Any
) -> None:
    source = sa.select(sa.literal("s1").label("sample_uid")).subquery()
    with pytest.raises(mx.InvalidRowsError, match="materialization_id must be a non-empty"):
        store.backfill(pipeline.crop, source, materialization_id=bad)
    assert store.read(pipeline.crop, history=True).is_empty()


@pytest.mark.parametrize("bad", [None, 0, -1, True, "1"])
def test_cleanup_refuses_bad_keep_last(
    store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame, bad: Any
) -> None:
    before = _snapshot(store, pipeline)
    with pytest.raises(mx.InvalidRowsError, match="keep_last must be a positive integer"):
        store.cleanup(pipeline.video, keep_last=bad)
    assert _snapshot(store, pipeline) == before


def test_delete_materialization_with_id_deletes_only_its_rows(
    store: mx.MetadataStore, pipeline: VideoPipeline
) -> None:
    """The refusal above does not get in the way of the real use."""
    store.write(pipeline.video, root_samples(4))
    store.write(pipeline.video, root_samples(2, start=4), materialization_id="run-7")
    assert store.delete_materialization(pipeline.video, "run-7") == 2
    assert store.read(pipeline.video).height == 4


# -- missing tables and columns ---------------------------------------------------------------


def _calls(pipeline: VideoPipeline) -> dict[str, Any]:
    video, crop = pipeline.video, pipeline.crop
    return {
        "read": lambda s: s.read(video),
        "write": lambda s: s.write(video, root_samples(2)),
        "resolve_root": lambda s: s.resolve_update(video, samples=root_samples(2)),
        "resolve": lambda s: s.resolve_update(crop),
        "status": lambda s: s.status(crop),
        "reconcile": lambda s: s.reconcile(crop, materialization_id="m"),
        "cleanup": lambda s: s.cleanup(video),
        "delete_materialization": lambda s: s.delete_materialization(video, "m"),
    }


@pytest.mark.parametrize(
    "call",
    [
        "read",
        "write",
        "resolve_root",
        "resolve",
        "status",
        "reconcile",
        "cleanup",
        "delete_materialization",
    ],
)
def test_missing_table_says_run_the_migrations(
    engine: sa.Engine, pipeline: VideoPipeline, call: str
) -> None:
    SQLModel.metadata.drop_all(engine)
    store = mx.MetadataStore(engine)
    with pytest.raises(mx.MissingSchemaError) as info:
        _calls(pipeline)[call](store)
    message = str(info.value)
    assert "alembic upgrade head" in message
    assert "create_all" in message
    assert "feature '" in message
    assert isinstance(info.value, sa.exc.DBAPIError)  # still what SQLAlchemy users catch
    assert info.value.__cause__ is not None


def test_missing_column_says_run_the_migrations(engine: sa.Engine, pipeline: VideoPipeline) -> None:
    SQLModel.metadata.drop_all(engine)
    with engine.begin() as conn:  # an old version of the table: no per-field columns yet
        conn.execute(sa.text("CREATE TABLE video (sample_uid VARCHAR NOT NULL, path VARCHAR)"))
    store = mx.MetadataStore(engine)
    with pytest.raises(mx.MissingSchemaError, match="alembic upgrade head"):
        store.write(pipeline.video, root_samples(2))
    with pytest.raises(mx.MissingSchemaError, match="feature 'video'"):
        store.read(pipeline.video)


def test_database_refusal_names_feature_and_column(
    backend: str, engine: sa.Engine, pipeline: VideoPipeline
) -> None:
    """A constraint only the database knows: its error is ours, naming feature and column."""
    with engine.begin() as conn:
        if capabilities_for(engine.dialect.name).enforces_constraints:
            conn.execute(sa.text("CREATE UNIQUE INDEX ux_video_path ON video (path)"))
        else:  # no unique keys (ClickHouse), but CHECK constraints are enforced on insert
            conn.execute(
                sa.text("ALTER TABLE video ADD CONSTRAINT ck_video_path CHECK path != '/same.mp4'")
            )
    store = mx.MetadataStore(engine)
    rows = root_samples(2).with_columns(path=pl.lit("/same.mp4"))
    with pytest.raises(mx.StoreDatabaseError) as info:
        store.write(pipeline.video, rows)
    assert not isinstance(info.value, mx.MissingSchemaError)
    assert info.value.feature == "video"
    assert "feature 'video'" in str(info.value)
    if backend != "duckdb":  # DuckDB's message names the duplicate value, not the column
        assert info.value.column == "path"
        assert "column 'path'" in str(info.value)
    assert isinstance(info.value, sa.exc.DBAPIError)
    assert store.read(pipeline.video, history=True).is_empty()


@pytest.mark.parametrize(
    "thing", [object(), "video", 42, dict, sa.Table("t", sa.MetaData()), mx.FeatureSpec]
)
def test_not_a_feature_is_refused(bare_store: mx.MetadataStore, thing: Any) -> None:
    for call in (
        lambda: bare_store.read(thing),
        lambda: bare_store.write(thing, [{"a": 1}]),
        lambda: bare_store.resolve_update(thing),
        lambda: bare_store.status(thing),
        lambda: bare_store.delete_materialization(thing, "m"),
        lambda: mx.latest(thing),
    ):
        with pytest.raises(mx.NotAFeatureError, match="expected a feature class"):
            call()
