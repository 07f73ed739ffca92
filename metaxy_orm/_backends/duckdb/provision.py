"""How the test suite gets a fresh DuckDB database: a file in the test's temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["TEST_DATABASES"]


@contextmanager
def embedded_file(tmp_path: Path) -> Iterator[str]:
    yield f"duckdb:///{tmp_path / 'meta.duckdb'}"


#: Test database name -> a context manager that yields the URL of an empty database.
TEST_DATABASES = {"duckdb": embedded_file}
