"""ClickHouse's two plans of "latest row per sample" give the same rows.

Servers with window functions get ``row_number()`` (faster on chDB); servers from 20.1 to 21.8
get ``ORDER BY ... LIMIT 1 BY``. CI has no such server, so both plans run here on chDB, on
histories with repeated samples and with two rows written at the same instant.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

import metaxy_orm as mx
from metaxy_orm._backends.clickhouse.provision import chdb_database

pytestmark = pytest.mark.clickhouse


@pytest.fixture
def engine(tmp_path: object) -> Iterator[sa.Engine]:
    with chdb_database(tmp_path) as url:  # type: ignore[arg-type]
        eng = sa.create_engine(url)
        yield eng
        eng.dispose()


def test_limit_by_and_window_pick_the_same_rows(engine: sa.Engine) -> None:
    class Video(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(key="video", id_columns=["sample_uid"], fields=["audio"]),
    ):
        sample_uid: str
        path: str | None = None

    SQLModel.metadata.create_all(engine)
    store = mx.MetadataStore(engine)
    base = datetime(2024, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(200):
        for version in range(i % 4 + 1):  # 1 to 4 rows per sample
            rows.append(
                {
                    "sample_uid": f"s{i:03d}",
                    "path": f"/v{i}/{version}",
                    "metaxy_provenance__audio": f"a{version}",
                    "metaxy_data_version__audio": f"a{version}",
                    "metaxy_provenance": f"p{version}",
                    # newer rows have smaller data versions, and versions 2 and 3 share an
                    # instant (there the greater data version, version 2's, wins)
                    "metaxy_data_version": f"d{9 - version}",
                    "metaxy_feature_version": "f",
                    "metaxy_snapshot_version": "s",
                    "metaxy_created_at": base + timedelta(microseconds=min(version, 2)),
                }
            )
    with engine.begin() as conn:
        conn.execute(sa.insert(Video.__table__), rows)  # type: ignore[attr-defined]

    window = store.read(Video)
    store.backend._window_functions = False  # type: ignore[attr-defined]
    table: sa.Table = Video.__table__  # type: ignore[attr-defined]
    compiled = str(store.backend.latest_rows(table, ["sample_uid"], list(table.c)).compile(engine))
    assert "LIMIT 1 BY" in compiled
    assert "row_number" not in compiled
    limit_by = store.read(Video)
    assert window.height == 200
    assert limit_by.equals(window)
    expected = [f"/v{i}/{min(i % 4, 2)}" for i in range(200)]
    assert window.sort("sample_uid")["path"].to_list() == expected
    assert window.filter(pl.col("sample_uid") == "s003")["metaxy_data_version"].to_list() == ["d7"]
