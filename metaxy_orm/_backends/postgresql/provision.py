"""How the test suite gets a fresh PostgreSQL database: a schema of its own on a real server.

The server is ``$METAXY_ORM_POSTGRES_URL`` (default: the local server CI starts). A schema per
test is created in milliseconds and dropped afterwards, so tests run in parallel safely.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

__all__ = ["SERVER_URL", "TEST_DATABASES"]

#: The server the tests use.
SERVER_URL = os.environ.get(
    "METAXY_ORM_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def schema_on_server(tmp_path: Path) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(SERVER_URL, poolclass=sa.NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = sa.make_url(SERVER_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


#: Test database name -> a context manager that yields the URL of an empty database.
TEST_DATABASES = {"postgresql": schema_on_server}
