"""Bad input is refused whole, with an error naming what is wrong, and writes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

import metaxy_orm as mx

PROVENANCE = "metaxy_provenance__default"


def _define() -> type[mx.Feature]:
    class Item(mx.Feature, table=True, spec=mx.FeatureSpec(key="item", id_columns=["uid"])):
        uid: str
        count: int | None = None
        when: dt.datetime | None = None

    return Item


def _ok(i: int) -> dict[str, Any]:
    return {"uid": f"u{i}", PROVENANCE: f"p{i}", "count": i}


BAD: dict[str, tuple[Callable[[], Any], str]] = {
    "not rows": (lambda: "uid,count", "expected a polars DataFrame"),
    "a row that is not a dict": (lambda: [_ok(1), ("u2", 2)], "row 1 is a tuple"),
    "missing id column": (lambda: [{PROVENANCE: "p", "count": 1}], r"missing id column"),
    "null id": (lambda: [_ok(1), {**_ok(2), "uid": None}], "null value"),
    "missing provenance": (lambda: [{"uid": "u1"}], "missing provenance"),
    "unknown column": (lambda: [{**_ok(1), "nope": 1}], r"\['nope'\] are not columns"),
    "text in an int column": (lambda: [_ok(1), {**_ok(2), "count": "two"}], "'count'"),
    "fraction in an int column": (
        lambda: pl.DataFrame([_ok(1), {**_ok(2), "count": 2.5}]),
        "'count'",
    ),
    "int beyond 64 bits": (lambda: [_ok(1), {**_ok(2), "count": 2**64}], "'count'"),
    "duplicate sample": (lambda: [_ok(1), _ok(1)], "more than once"),
    "naive datetime": (lambda: [{**_ok(1), "when": dt.datetime(2024, 1, 1)}], "'when'"),
    "wrong data version": (
        lambda: [{**_ok(1), "metaxy_data_version": "nothash"}],
        "does not match the hash",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_batch_is_refused_whole(engine: sa.Engine, canary: sa.Table, case: str) -> None:
    item = _define()
    SQLModel.metadata.create_all(engine)
    store = mx.MetadataStore(engine)
    build, match = BAD[case]
    with pytest.raises(mx.InvalidRowsError, match=match) as info:
        store.write(item, build())
    assert "item" in str(info.value)
    assert store.read(item, history=True).is_empty()
    assert store.write(item, [_ok(1), _ok(2)]) == 2  # the store stays usable
