"""All or none on ClickHouse, which has no transactions: kill -9 a writer in the middle.

A separate process writes one large batch to an on-disk chDB database and is killed at
several moments of the write; another process then counts the rows. Each count must be 0 or
the whole batch, never a part: the store sends a write as one block, which ClickHouse stores
as one part, made visible by one rename.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.clickhouse

ROWS = 600_000

_FEATURE = """
import sys, time
import polars as pl
import sqlalchemy as sa
from sqlmodel import SQLModel
import metaxy_orm as mx
from metaxy_orm._backends.clickhouse.provision import chdb_url

class Video(mx.Feature, table=True, spec=mx.FeatureSpec(
        key="video", id_columns=["sample_uid"], fields=["audio", "frames"])):
    sample_uid: str
    path: str | None = None

engine = sa.create_engine(chdb_url("default", sys.argv[1]))
store = mx.MetadataStore(engine)
"""

_WRITER = (
    _FEATURE
    + """
SQLModel.metadata.create_all(engine)
n = int(sys.argv[2])
frame = pl.DataFrame({"sample_uid": [f"s{i:07d}" for i in range(n)]}).with_columns(
    metaxy_provenance__audio=pl.col("sample_uid").str.slice(1),
    metaxy_provenance__frames=pl.lit("f"),
    path=pl.lit("/videos/some/rather/long/path/to/make/the/batch/heavier.mp4"),
)
print("ready", flush=True)
sys.stdin.readline()
start = time.perf_counter()
store.write(Video, frame)
print("done", time.perf_counter() - start, flush=True)
"""
)

_COUNTER = (
    _FEATURE
    + """
with engine.connect() as conn:
    print(conn.exec_driver_sql("SELECT count() FROM video").scalar())
"""
)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}


def _writer(path: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_WRITER), str(path), str(ROWS)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert process.stdout is not None
    assert process.stdin is not None
    if process.stdout.readline().strip() != "ready":
        process.kill()
        process.communicate()
        pytest.fail("the writer process did not start")
    process.stdin.write("go\n")
    process.stdin.flush()
    return process


def _count(path: Path) -> int:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_COUNTER), str(path)],
        capture_output=True,
        text=True,
        env=_env(),
        check=True,
    )
    return int(out.stdout.strip().splitlines()[-1])


def test_a_killed_writer_leaves_all_rows_or_none(tmp_path: Path) -> None:
    # An uninterrupted write first: it tells how long a write takes, and that it completes.
    complete = _writer(tmp_path / "complete")
    stdout, _ = complete.communicate(timeout=300)
    assert complete.returncode == 0, stdout
    duration = float(stdout.split()[-1])
    assert _count(tmp_path / "complete") == ROWS

    outcomes = []
    for i, fraction in enumerate((0.1, 0.3, 0.5, 0.7, 0.9, 1.1)):
        path = tmp_path / f"killed{i}"
        process = _writer(path)
        time.sleep(duration * fraction)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)  # also closes the pipes
        count = _count(path)
        outcomes.append((fraction, count))
        assert count in (0, ROWS), f"a writer killed at {fraction:.0%} of a write left {count} rows"
    # The kills did land during the writes: some left nothing (a test that cannot tell a
    # partial write from no write at all would prove nothing).
    print("kill outcomes (fraction of a write, rows left):", outcomes)
    assert any(count == 0 for _, count in outcomes), outcomes
