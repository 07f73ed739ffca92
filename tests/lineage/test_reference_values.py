"""Lineage versions equal the reference system's and an independent hashlib computation.

``tests/data/lineage_expected.json`` was produced by running the reference system
(``metaxy==0.1.11`` from PyPI, its Delta Lake store with the Polars engine, md5, truncation 8)
in a separate virtual environment on the fixed inputs it records, with a script kept outside
this repository: roots written with the recorded provenance, then each downstream feature
resolved and its ``new`` rows written (expanded into ``children_per_parent`` frames per video
for an expansion). The reference lists one row per member of a group in ``new``; the file keeps
one row per group. metaxy is never imported here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

import metaxy_orm as mx
from example_app.lineage_pipeline import define_lineage_pipeline

from .conftest import graph_feature, lineage_of, provenance_by_key, reference_expected

DATA = json.loads((Path(__file__).parent.parent / "data" / "lineage_expected.json").read_text())
LR = mx.LineageRelationship


def define_aggregation_graph() -> list[type[mx.Feature]]:
    """The aggregation graph of the reference run: integer and text member ids, 2 fields."""

    class Frames(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="frames",
            id_columns=["video_id", "frame_id"],
            fields=[
                mx.FieldSpec(key="pixels", code_version="1"),
                mx.FieldSpec(key="depth", code_version="1"),
            ],
        ),
    ):
        video_id: str
        frame_id: int

    class Tags(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="tags",
            id_columns=["video_id", "tag"],
            fields=[mx.FieldSpec(key="default", code_version="1")],
        ),
    ):
        video_id: str
        tag: str

    class Summary(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="summary",
            id_columns=["video_id"],
            deps=[mx.FeatureDep(feature=Frames, lineage=LR.aggregation(on=["video_id"]))],
            fields=[
                mx.FieldSpec(
                    key="caption",
                    code_version="1",
                    deps=[mx.FieldDep(feature=Frames, fields=["pixels"])],
                ),
                mx.FieldSpec(key="stats", code_version="2"),
            ],
        ),
    ):
        video_id: str

    class TagSet(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="tag_set",
            id_columns=["video_id"],
            deps=[mx.FeatureDep(feature=Tags, lineage=LR.aggregation())],
            fields=[mx.FieldSpec(key="default", code_version="1")],
        ),
    ):
        video_id: str

    return [Frames, Tags, Summary, TagSet]


GRAPHS = {
    "expansion": lambda: list(define_lineage_pipeline())[:2],
    "aggregation": define_aggregation_graph,
    "chain": lambda: list(define_lineage_pipeline()),
}


def root_frame(root: dict[str, Any]) -> pl.DataFrame:
    rows = [
        {
            **{c: r[c] for c in root["ids"]},
            **{f"metaxy_provenance__{f}": r[f"pv_{f}"] for f in root["fields"]},
        }
        for r in root["rows"]
    ]
    return pl.DataFrame(rows)


@pytest.mark.parametrize("name", sorted(DATA["graphs"]))
def test_lineage_versions_equal_reference_system(
    engine: sa.Engine, graph: mx.FeatureGraph, name: str
) -> None:
    data = DATA["graphs"][name]
    features = GRAPHS[name]()
    SQLModel.metadata.create_all(engine)
    store = mx.MetadataStore(
        engine,
        hash_algorithm=DATA["hash_algorithm"],
        hash_truncation_length=DATA["hash_truncation_length"],
    )

    for key, want in data["versions"].items():
        feature = graph_feature(features, key)
        assert feature.feature_version() == want["feature_version"], key
        assert graph.field_versions(feature) == want["field_versions"], key

    for key, root in data["roots"].items():
        feature = graph_feature(features, key)
        store.write(feature, store.resolve_update(feature, samples=root_frame(root)).new)

    checked = set()
    for step in data["resolves"]:
        feature = graph_feature(features, step["feature"])
        key = lineage_of(feature).expected_key
        inc = store.resolve_update(feature)
        assert inc.stale.is_empty()
        assert inc.orphaned.is_empty()
        assert set(inc.new.columns) >= set(key)
        got = provenance_by_key(inc.new, key)
        want = {tuple(r[c] for c in key): r["provenance_by_field"] for r in step["expected"]}
        assert got == want, step["feature"]
        assert got == reference_expected(store, feature, features), step["feature"]
        rows = inc.new
        if "children_per_parent" in step:
            counts = step["children_per_parent"]
            rows = rows.with_columns(
                pl.int_ranges(
                    0, pl.col("video_id").replace_strict(counts, return_dtype=pl.Int64)
                ).alias("frame_id")
            ).explode("frame_id")
        store.write(feature, rows)
        assert store.resolve_update(feature).is_empty()
        checked.add(step["feature"])
    assert checked == {k for k in data["versions"] if k not in data["roots"]}
