"""The feature table's primary key: kept by the ORM everywhere, created in the database only
where it earns its cost (not on DuckDB), and guarded by the store's own checks either way."""

from __future__ import annotations

import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.schema import CreateTable
from sqlmodel import SQLModel

import metaxy_orm as mx
from example_app.pipeline import VideoPipeline
from metaxy_orm._backends import capabilities_for

from .conftest import root_samples

PRIMARY_KEY = ["sample_uid", "metaxy_data_version", "metaxy_created_at"]
#: The backends with SQL key constraints (ClickHouse has a sorting key instead: tests/clickhouse).
KEYED = pytest.mark.only_backends("duckdb", "postgresql", "sqlite")


@KEYED
def test_orm_key_is_intact_and_database_key_follows_the_backend(
    engine: sa.Engine, pipeline: VideoPipeline
) -> None:
    for feature in pipeline:
        table = feature.__table__  # type: ignore[attr-defined]
        assert [c.name for c in table.primary_key.columns] == PRIMARY_KEY
        mapper = sa.inspect(feature)
        assert mapper is not None
        assert mapper.primary_key == tuple(table.c[c] for c in PRIMARY_KEY)
        ddl = str(CreateTable(table).compile(dialect=engine.dialect))
        created = capabilities_for(engine.dialect.name).creates_feature_primary_key
        assert ("PRIMARY KEY" in ddl) is created, ddl
        for column in PRIMARY_KEY:  # NOT NULL stays, key or not
            assert f"{column} " in ddl
            assert not table.c[column].nullable


@KEYED
def test_other_tables_keep_their_key_on_every_backend(engine: sa.Engine) -> None:
    table = sa.Table(
        "plain_table",
        sa.MetaData(),
        sa.Column("a", sa.String(20), primary_key=True),
        sa.Column("metaxy_like", sa.String(20), primary_key=True),
    )
    assert "PRIMARY KEY" in str(CreateTable(table).compile(dialect=engine.dialect))
    snapshots = SQLModel.metadata.tables.get("metaxy_graph_snapshots")
    if snapshots is not None:
        assert "PRIMARY KEY" in str(CreateTable(snapshots).compile(dialect=engine.dialect))


def test_duplicate_samples_are_refused_by_the_store(
    store: mx.MetadataStore, pipeline: VideoPipeline
) -> None:
    """Without a database key (DuckDB) the store's check is the guard: nothing is written."""
    rows = pl.concat([root_samples(3), root_samples(1)])
    with pytest.raises(mx.InvalidRowsError, match="same sample appears more than once"):
        store.write(pipeline.video, rows)
    assert store.read(pipeline.video, history=True).is_empty()


def test_rewrites_of_a_sample_get_distinct_times(
    store: mx.MetadataStore, pipeline: VideoPipeline
) -> None:
    """The same sample written again and again, as fast as possible: every row has its own
    write time, and the latest row is the last one written."""
    samples = root_samples(2)
    for i in range(5):
        store.write(pipeline.video, samples.with_columns(path=pl.lit(f"/v{i}")))
    history = store.read(pipeline.video, history=True)
    assert history.height == 10
    per_sample = history.group_by("sample_uid").agg(pl.col("metaxy_created_at").n_unique())
    assert per_sample["metaxy_created_at"].to_list() == [5, 5]
    assert set(store.read(pipeline.video)["path"].to_list()) == {"/v4"}
