"""The tables ``create_all`` makes are what the code declares: no false drift, no long ids.

- right after ``create_all``, comparing the database with the metadata (what ``alembic check``
  does) finds nothing, for every column type of the type matrix (DuckDB used to reflect DOUBLE
  as FLOAT and JSON as text, and reported a type change on every check);
- an id value too long for PostgreSQL's primary-key index is refused before the write, naming
  the column.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import Field, SQLModel

import metaxy_orm as mx
from metaxy_orm._backends import load_alembic_implementations


def _typed() -> type[mx.Feature]:
    class Typed(mx.Feature, table=True, spec=mx.FeatureSpec(key="typed", id_columns=["uid"])):
        uid: str
        count: int | None = None
        ratio: float | None = None
        single: float | None = Field(default=None, sa_type=sa.Float)
        flag: bool | None = None
        blob: bytes | None = None
        amount: Decimal | None = Field(default=None, max_digits=10, decimal_places=2)
        day: dt.date | None = None
        seen_at: dt.datetime | None = None
        clock: dt.time | None = None
        key: uuid.UUID | None = None
        tags: list[Any] | None = Field(default=None, sa_type=sa.JSON)

    return Typed


def test_no_drift_right_after_create_all(engine: sa.Engine) -> None:
    _typed()
    load_alembic_implementations()
    SQLModel.metadata.create_all(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, SQLModel.metadata)
    changes = [d for d in diffs if not (isinstance(d, tuple) and d[0] in ("add_index",))]
    assert [d for d in changes if _is_column_change(d)] == []


def _is_column_change(diff: Any) -> bool:
    items = diff if isinstance(diff, list) else [diff]
    return any(isinstance(i, tuple) and str(i[0]).startswith("modify_") for i in items)


def test_overlong_id_is_refused_naming_the_column(backend: str, engine: sa.Engine) -> None:
    class Doc(mx.Feature, table=True, spec=mx.FeatureSpec(key="doc", id_columns=["uid"])):
        uid: str

    SQLModel.metadata.create_all(engine)
    store = mx.MetadataStore(engine)
    rows = [{"uid": "x" * 8000, "metaxy_provenance__default": "p"}]
    if backend != "postgresql":  # no index entry limit that ids reach
        assert store.write(Doc, rows) == 1
        assert store.read(Doc)["uid"].to_list() == ["x" * 8000]
        return
    with pytest.raises(mx.InvalidRowsError, match="column 'uid'") as info:
        store.write(Doc, rows)
    assert "nothing was written" in str(info.value)
    assert store.read(Doc, history=True).is_empty()
