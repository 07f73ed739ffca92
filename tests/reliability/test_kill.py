"""kill -9 in the middle of a large write or data migration: all rows or none, on every backend.

A worker process writes ~200k rows in one ``store.write`` (or one ``backfill``, what an Alembic
data migration runs) and is killed with SIGKILL shortly after it starts; the table then holds
either none of the rows or all of them, and running the operation again completes it without
duplicates.
"""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa
from sqlmodel import SQLModel

import metaxy_orm as mx

from .conftest import run_and_kill

N = 200_000
#: Rows of the killed migration: enough for a statement that runs a while, small enough to stage.
N_MIGRATION = 50_000

DEFINE = """
import sys
import polars as pl
import sqlalchemy as sa
import metaxy_orm as mx

class Big(mx.Feature, table=True, spec=mx.FeatureSpec(key="big", id_columns=["uid"])):
    uid: str
    payload: str | None = None

def rows(n):
    uid = pl.int_range(n, eager=True).cast(pl.String).str.zfill(8)
    return pl.DataFrame({
        "uid": "u" + uid,
        "metaxy_provenance__default": "p" + uid,
        "payload": ("x" * 64) + uid,
    })
"""

WRITE = (
    DEFINE
    + """
url, n = sys.argv[1], int(sys.argv[2])
store = mx.MetadataStore(url)
frame = rows(n)
insert = store.backend.bulk_insert

def announced(conn, table, batch):  # "ready" once the checks are done and the insert starts
    print("ready", flush=True)
    return insert(conn, table, batch)

store.backend.bulk_insert = announced
store.write(Big, frame)
print("done", flush=True)
"""
)

BACKFILL = (
    DEFINE
    + """
url = sys.argv[1]
engine = sa.create_engine(url)
store = mx.MetadataStore(engine)
staging = sa.table("staging", sa.column("uid"), sa.column("metaxy_provenance__default"),
                   sa.column("payload"))

@sa.event.listens_for(engine, "before_cursor_execute")
def announce(conn, cursor, statement, parameters, context, executemany):
    if statement.lstrip().upper().startswith("INSERT"):  # the migration's statement starts
        print("ready", flush=True)

store.backfill(Big, sa.select(staging).subquery(), materialization_id="rev-0002")
print("done", flush=True)
"""
)


def _big() -> type[mx.Feature]:
    class Big(mx.Feature, table=True, spec=mx.FeatureSpec(key="big", id_columns=["uid"])):
        uid: str
        payload: str | None = None

    return Big


def _rows(n: int) -> pl.DataFrame:
    uid = pl.int_range(n, eager=True).cast(pl.String).str.zfill(8)
    return pl.DataFrame(
        {
            "uid": "u" + uid,
            "metaxy_provenance__default": "p" + uid,
            "payload": ("x" * 64) + uid,
        }
    )


def _count(engine: sa.Engine, table: str) -> tuple[int, int]:
    with engine.connect() as conn:
        rows, samples = conn.execute(
            sa.text(f"SELECT count(*), count(DISTINCT uid) FROM {table}")
        ).one()
    return int(rows), int(samples)


def test_kill_during_write_keeps_all_or_nothing(
    backend: str, database_url: str, engine: sa.Engine
) -> None:
    _big()
    SQLModel.metadata.create_all(engine)
    engine.dispose()  # DuckDB: one process at a time holds the file
    killed, output = run_and_kill(WRITE, [database_url, str(N)], delay=0.1)
    assert "Traceback" not in output, output
    rows, samples = _count(engine, "big")
    assert rows in (0, N), f"{rows} of {N} rows after kill -9\n{output}"
    assert samples == rows
    if killed:
        assert rows == 0, "a write killed before it returned committed its rows"


def _stage() -> type[mx.Feature]:
    class Stage(mx.Feature, table=True, spec=mx.FeatureSpec(key="staging", id_columns=["uid"])):
        uid: str
        payload: str | None = None

    return Stage


def test_kill_during_migration_then_rerun(
    backend: str, database_url: str, engine: sa.Engine
) -> None:
    """A data migration (backfill from a staging table) killed, then run again: no duplicates."""
    big, stage = _big(), _stage()
    SQLModel.metadata.create_all(engine)
    store = mx.MetadataStore(engine)
    store.write(stage, _rows(N_MIGRATION))
    engine.dispose()  # DuckDB: one process at a time holds the file

    _, output = run_and_kill(BACKFILL, [database_url], delay=0.05)
    assert "Traceback" not in output, output
    rows, samples = _count(engine, "big")
    assert rows in (0, N_MIGRATION), f"{rows} of {N_MIGRATION} rows after kill -9\n{output}"
    assert samples == rows

    staging = stage.__table__  # type: ignore[attr-defined]
    source = sa.select(
        staging.c.uid, staging.c.metaxy_provenance__default, staging.c.payload
    ).subquery()
    written = store.backfill(big, source, materialization_id="rev-0002")
    assert written == N_MIGRATION - rows
    assert _count(engine, "big") == (N_MIGRATION, N_MIGRATION)  # no sample twice
    assert store.backfill(big, source, materialization_id="rev-0002") == 0
