"""How the test suite gets a fresh ClickHouse database: a database of its own per test.

- ``clickhouse``: chDB (ClickHouse in-process) through clickhouse-connect. chDB keeps one
  on-disk engine per process, so each test process gets one data directory and each test a
  ``CREATE DATABASE`` inside it.
- ``clickhouse_server``: a real server over the native protocol through clickhouse-sqlalchemy,
  ``$METAXY_ORM_CLICKHOUSE_URL`` (default: the server ``.ci/clickhouse-server`` starts on
  127.0.0.1:9000), a database per test.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import sqlalchemy as sa

from metaxy_orm.exceptions import UnsupportedDatabaseVersionError

__all__ = ["SERVER_URL", "TEST_DATABASES", "chdb_url"]

#: The server of the ``clickhouse_server`` tests.
SERVER_URL = os.environ.get(
    "METAXY_ORM_CLICKHOUSE_URL", "clickhouse+native://default:@127.0.0.1:9000/default"
)


@cache
def _chdb_path() -> str:
    """This process' chDB data directory (chDB allows one per process)."""
    path = tempfile.mkdtemp(prefix="metaxy-orm-chdb-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def chdb_url(database: str = "default", path: str | None = None) -> str:
    """A clickhouse-connect URL of an on-disk chDB database."""
    return f"clickhousedb:///{database}?interface=chdb&path={path or _chdb_path()}"


@contextmanager
def _database(admin_url: str, make_url: object) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, poolclass=sa.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield make_url(name)  # type: ignore[operator]
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        admin.dispose()


@contextmanager
def chdb_database(tmp_path: Path) -> Iterator[str]:
    with _database(chdb_url(), chdb_url) as url:
        yield url


@contextmanager
def server_database(tmp_path: Path) -> Iterator[str]:
    def url_of(name: str) -> str:
        return sa.make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)

    with _database(SERVER_URL, url_of) as url:
        yield url


# Refused by design (docs/clickhouse.md): the store needs DateTime64 and newer SQL than the
# ClickHouse 18.16 that Debian ships, and says so with this error; tests that never open a
# store (hashing, tables) pass there.
server_database.refused_by_design = (  # type: ignore[attr-defined]
    UnsupportedDatabaseVersionError,
    "metaxy-orm refuses ClickHouse servers older than 20.1 (no DateTime64): docs/clickhouse.md",
)

#: Test database name -> a context manager that yields the URL of an empty database.
TEST_DATABASES = {"clickhouse": chdb_database, "clickhouse_server": server_database}
