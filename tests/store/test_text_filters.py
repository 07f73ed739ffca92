"""Text filters (``FeatureDep(filters=["..."])``) reach the database exactly as written.

A colon, a percent sign or a question mark inside a string literal is part of the literal on
every backend: nothing in the text is taken as a bind parameter (before, ``:name`` and
``%(x)s`` inside a literal failed as missing parameters).
"""

from __future__ import annotations

import polars as pl
import pytest
import sqlalchemy as sa

import metaxy_orm as mx

from .conftest import create_tables, uids
from .test_deps import define_source, source_rows

LITERALS = [
    "a:b",
    ":name",
    "x::text",
    "%(x)s",
    "50%",
    "%s",
    "?",
    "$1",
    "it''s",
    "back\\slash",
    "é漢字",
]


@pytest.mark.parametrize("literal", LITERALS)
def test_text_filter_literal_passes_as_written(
    engine: sa.Engine, bare_store: mx.MetadataStore, literal: str
) -> None:
    src = define_source()
    value = literal.replace("''", "'")  # the value the SQL literal denotes

    class Dst(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="dst",
            id_columns=["sample_uid"],
            deps=[mx.FeatureDep(feature=src, filters=[f"label <> '{literal}' AND score >= 3"])],
            fields=["value"],
        ),
    ):
        sample_uid: str

    create_tables(engine)
    rows = source_rows().with_columns(
        label=pl.when(pl.col("score") > 20).then(pl.lit(value)).otherwise(pl.col("label"))
    )
    bare_store.write(src, rows)
    expected = set(
        rows.filter((pl.col("label") != value) & (pl.col("score") >= 3))["sample_uid"].to_list()
    )
    assert 0 < len(expected) < rows.height
    assert uids(bare_store.resolve_update(Dst).new) == expected
    (status,) = bare_store.status(Dst)
    assert status.new == len(expected)
    lazy = bare_store.resolve_update(Dst, lazy=True)
    with engine.connect() as conn:
        assert {r[0] for r in conn.execute(lazy.new)} == expected
