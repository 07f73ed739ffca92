"""Member order is the same on every backend, whatever the column's or database's collation.

Aggregation joins member data versions in upstream id order, text by code point. Here the text
id column is declared with a case-insensitive or locale collation, under which the database's
own ORDER BY would sort differently; the hash must still be the reference's.
"""

from __future__ import annotations

import polars as pl
import pytest
import sqlalchemy as sa
from sqlmodel import Field, SQLModel
from sqlmodel.sql.sqltypes import AutoString

import metaxy_orm as mx

from .conftest import provenance_by_key, reference_expected

#: A collation per backend under which "a" < "B" (or case is ignored), unlike code point order.
COLLATIONS = {"postgresql": "en-US-x-icu", "duckdb": "nocase", "sqlite": "NOCASE"}
TAGS = ["b", "B", "a", "A", "é", "e", "10", "9", "Z", "日本", "a b", "💡", "ß", "ss", ""]


@pytest.mark.parametrize("declared", [True, False], ids=["column-collation", "plain-str"])
def test_text_members_are_ordered_by_code_point(
    engine: sa.Engine, graph: mx.FeatureGraph, backend: str, declared: bool
) -> None:
    collation = COLLATIONS.get(backend)
    tag_type = sa.String(collation=collation) if declared else AutoString()

    class Tags(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(key="tags", id_columns=["video_id", "tag"], fields=["label"]),
    ):
        video_id: str
        tag: str = Field(sa_type=tag_type)

    class TagSet(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="tag_set",
            id_columns=["video_id"],
            deps=[mx.FeatureDep(feature=Tags, lineage=mx.LineageRelationship.aggregation())],
            fields=["label"],
        ),
    ):
        video_id: str

    if backend == "duckdb":  # and the session's default collation, for good measure
        sa.event.listen(
            engine, "connect", lambda conn, _: conn.execute("SET default_collation='nocase'")
        )
        engine.dispose()
    SQLModel.metadata.create_all(engine)
    if backend == "postgresql" and not declared:  # a locale collation set after the fact
        with engine.begin() as conn:
            conn.execute(
                sa.text(f'ALTER TABLE tags ALTER COLUMN tag TYPE VARCHAR COLLATE "{collation}"')
            )
    store = mx.MetadataStore(engine)
    rows = pl.DataFrame(
        {
            "video_id": ["v1"] * len(TAGS) + ["v2"],
            "tag": [*TAGS, "only"],
            "metaxy_provenance__label": [f"l{i}" for i in range(len(TAGS) + 1)],
        }
    )
    store.write(Tags, rows)
    inc = store.resolve_update(TagSet)
    expected = reference_expected(store, TagSet, [Tags, TagSet])
    assert provenance_by_key(inc.new, ["video_id"]) == expected
    # and the order is really not the collation's: sorting case-insensitively changes the hash
    assert sorted(TAGS) != sorted(TAGS, key=str.lower)
