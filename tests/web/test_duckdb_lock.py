"""DuckDB's single-writer file lock: a second process gets a metaxy-orm error saying so."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import metaxy_orm as mx
from metaxy_orm.web import open_engine

HOLDER = """
import sys, duckdb
conn = duckdb.connect(sys.argv[1])
conn.execute("CREATE TABLE IF NOT EXISTS held (a INTEGER)")
print("ready", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def held_file(tmp_path: Path) -> Iterator[str]:
    """A DuckDB file held open by another process until the test ends."""
    path = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        yield f"duckdb:///{path}"
    finally:
        holder.communicate("")  # closing stdin lets it exit


@pytest.mark.duckdb
def test_second_process_gets_a_clear_error(held_file: str, graph: mx.FeatureGraph) -> None:
    with pytest.raises(mx.DatabaseLockedError, match="one process per database file") as info:
        open_engine(held_file)
    assert isinstance(info.value.__cause__, sa.exc.DBAPIError)  # the driver's error is kept
    assert "held.duckdb" in str(info.value)

    from example_app.pipeline import define_video_pipeline

    pipeline = define_video_pipeline()
    with mx.MetadataStore(held_file) as store, pytest.raises(mx.DatabaseLockedError):
        store.status(pipeline.crop)


@pytest.mark.duckdb
def test_app_refuses_to_start_on_a_held_file(held_file: str, graph: mx.FeatureGraph) -> None:
    from example_app.pipeline import define_video_pipeline
    from example_app.web import create_app

    define_video_pipeline()
    with pytest.raises(mx.DatabaseLockedError):
        create_app(held_file, graph=graph)
