"""Concurrent writers on PostgreSQL: every row lands exactly once, none is lost or doubled.

Several threads, each with its own store (own connections), append batches at the same time:
some write disjoint samples, some write the same samples again (an append-only store keeps
both rows, and the latest row per sample is well defined).
"""

from __future__ import annotations

import threading

import polars as pl
import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

import metaxy_orm as mx

WRITERS = 4
BATCHES = 5
ROWS = 2_000


def _rows(writer: int, batch: int) -> pl.DataFrame:
    start = (writer * BATCHES + batch) * ROWS
    uid = pl.int_range(start, start + ROWS, eager=True).cast(pl.String).str.zfill(8)
    return pl.DataFrame(
        {"uid": "u" + uid, "metaxy_provenance__default": f"w{writer}-" + uid, "writer": writer}
    )


@pytest.mark.postgresql
@pytest.mark.only_backends("postgresql")
def test_concurrent_writers_write_every_row_once(database_url: str) -> None:
    postgres_url = database_url

    class Shared(mx.Feature, table=True, spec=mx.FeatureSpec(key="shared", id_columns=["uid"])):
        uid: str
        writer: int | None = None

    engine = sa.create_engine(postgres_url)
    SQLModel.metadata.create_all(engine)
    errors: list[BaseException] = []
    barrier = threading.Barrier(WRITERS + 1)

    def write(writer: int) -> None:
        store = mx.MetadataStore(postgres_url)
        try:
            barrier.wait()
            for batch in range(BATCHES):
                store.write(Shared, _rows(writer, batch))
                # and every writer also re-writes writer 0's first batch (same samples)
                store.write(Shared, _rows(0, 0).with_columns(writer=pl.lit(writer)))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    barrier.wait()
    for t in threads:
        t.join()
    assert not errors, errors

    store = mx.MetadataStore(engine)
    history = store.read(Shared, history=True)
    expected = WRITERS * BATCHES * ROWS + WRITERS * BATCHES * ROWS
    assert history.height == expected
    key = ["uid", "metaxy_data_version", "metaxy_created_at"]
    assert history.select(key).is_duplicated().sum() == 0  # no row twice
    latest = store.read(Shared)
    assert latest.height == WRITERS * BATCHES * ROWS  # every sample once
    assert latest["uid"].n_unique() == latest.height
    engine.dispose()
