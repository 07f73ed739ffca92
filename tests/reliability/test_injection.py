"""Injection through every name and value a user hands the store: stored as data, never run.

A canary table sits next to the features; every test checks at the end that it is intact.
Names (table, columns) are quoted by SQLAlchemy and psycopg's ``sql.Identifier``; values travel
as bound parameters, Arrow buffers or COPY data. (Text filters are SQL by design, written by the
feature's author: see docs/store.md.)
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import metaxy_orm as mx

PAYLOADS = [
    "'; DROP TABLE canary; --",
    '"); DROP TABLE canary; --',
    "1 OR 1=1",
    "x' || (SELECT note FROM canary) || '",
    "$$; DROP TABLE canary; $$",
    "%(x)s :name ? $1 \\",
    "\\'; DROP TABLE canary; --",
]
EVIL_COLUMN = 'c"; DROP TABLE canary; --'
EVIL_TABLE = 't"; DROP TABLE canary; --'
PROVENANCE = "metaxy_provenance__default"


def _define() -> type[mx.Feature]:
    class Evil(mx.Feature, table=True, spec=mx.FeatureSpec(key="evil", id_columns=["uid"])):
        __tablename__ = EVIL_TABLE
        uid: str
        note: str | None = Field(default=None, sa_column=sa.Column(EVIL_COLUMN, sa.String))

    return Evil


def _rows(tag: str) -> list[dict[str, Any]]:
    return [{"uid": p, PROVENANCE: p, EVIL_COLUMN: p + tag} for p in PAYLOADS]


def test_names_and_values_are_data(engine: sa.Engine, canary: sa.Table) -> None:
    evil = _define()
    SQLModel.metadata.create_all(engine)
    store = mx.MetadataStore(engine)
    assert store.write(evil, _rows(""), materialization_id=PAYLOADS[0]) == len(PAYLOADS)
    frame = store.read(evil)
    assert sorted(frame["uid"].to_list()) == sorted(PAYLOADS)
    assert sorted(frame[EVIL_COLUMN].to_list()) == sorted(PAYLOADS)
    assert set(frame["metaxy_materialization_id"].to_list()) == {PAYLOADS[0]}

    # resolve_update uploads the samples (ids and provenance) into the database
    samples = [{"uid": p, PROVENANCE: p + "2"} for p in PAYLOADS]
    assert len(store.resolve_update(evil, samples=samples).stale) == len(PAYLOADS)
    assert store.write(evil, _rows("!"), materialization_id=PAYLOADS[1]) == len(PAYLOADS)
    assert store.delete_materialization(evil, PAYLOADS[1]) == len(PAYLOADS)
    assert store.delete_materialization(evil, "' OR '1'='1") == 0
    assert store.read(evil, history=True).height == len(PAYLOADS)
    (status,) = store.status(evil)
    assert status.samples == len(PAYLOADS)


@pytest.mark.parametrize("key", ["a;drop", "a'b", 'a"b', "a b", "a--b", "a/*b"])
def test_keys_with_sql_are_refused(key: str) -> None:
    with pytest.raises(mx.KeyValidationError):
        mx.FeatureSpec(key=key, id_columns=["uid"])
    with pytest.raises(mx.KeyValidationError):
        mx.FieldSpec(key=key)


def test_backfill_and_reconcile_values_are_data(engine: sa.Engine, canary: sa.Table) -> None:
    evil = _define()
    SQLModel.metadata.create_all(engine)
    store = mx.MetadataStore(engine)
    source = sa.select(
        *(
            sa.union_all(
                *(
                    sa.select(
                        sa.literal(p).label("uid"),
                        sa.literal(p).label(PROVENANCE),
                        sa.literal(p).label(EVIL_COLUMN),
                    )
                    for p in PAYLOADS
                )
            )
            .subquery()
            .c
        )
    ).subquery()
    assert store.backfill(evil, source, materialization_id=PAYLOADS[2]) == len(PAYLOADS)
    assert store.cleanup(evil) == 0
    assert store.reconcile(evil, materialization_id=PAYLOADS[3]) == 0
    frame = store.read(evil)
    assert sorted(frame[EVIL_COLUMN].to_list()) == sorted(PAYLOADS)
