"""``FieldSpec(deps=[])`` follows the reference system; ``deps=mx.NO_DEPS`` depends on nothing.

Versions and the provenance computed in the database are checked against the independent
hashlib reference (``reference.py``) on every backend.
"""

from __future__ import annotations

import polars as pl
import pytest
import sqlalchemy as sa

import metaxy_orm as mx

from .conftest import create_tables
from .reference import from_specs, provenance_column


def _define(deps: object) -> tuple[type[mx.Feature], type[mx.Feature]]:
    class Up(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(key="up", id_columns=["uid"], fields=["audio", "frames"]),
    ):
        uid: str

    class Down(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="down",
            id_columns=["uid"],
            deps=[Up],
            fields=[mx.FieldSpec(key="summary", code_version="1", deps=deps)],  # type: ignore[arg-type]
        ),
    ):
        uid: str

    return Up, Down


@pytest.mark.parametrize(
    ("deps", "parents"),
    [
        ([], ["up.audio", "up.frames"]),  # no explicit deps: the default mapping
        (None, ["up.audio", "up.frames"]),
        (mx.NO_DEPS, []),
    ],
)
def test_field_deps_spellings(
    engine: sa.Engine, bare_store: mx.MetadataStore, deps: object, parents: list[str]
) -> None:
    up, down = _define(deps)
    graph = down.feature_graph()
    assert [f"{p}.{f}" for p, f in graph.parent_fields(down, "summary")] == parents
    reference = from_specs(graph.specs.values())
    assert down.field_versions() == {"summary": reference.field_version("down", "summary", 8)}
    assert down.feature_version() == reference.feature_version("down", 8)

    create_tables(engine)
    samples = pl.DataFrame(
        {"uid": ["a", "b"], "metaxy_provenance__audio": ["x", "y"]}
        | {"metaxy_provenance__frames": ["p", "q"]}
    )
    bare_store.write(up, samples)
    inc = bare_store.resolve_update(down)
    values = {
        (r["uid"],): {
            "audio": r["metaxy_provenance__audio"],
            "frames": r["metaxy_provenance__frames"],
        }
        for r in samples.iter_rows(named=True)
    }
    expected = reference.expected_provenance("down", {"up": values}, "md5", 8)
    got = {(r["uid"],): r[provenance_column("summary")] for r in inc.new.iter_rows(named=True)}
    assert got == {k: v["summary"] for k, v in expected.items()}
    if deps is mx.NO_DEPS:  # nothing upstream feeds it: every sample has the same provenance
        assert len(set(got.values())) == 1


def test_deps_must_be_a_list() -> None:
    with pytest.raises(mx.FeatureSpecError, match="NO_DEPS"):
        mx.FieldSpec(key="x", deps=mx.FieldDep(feature="up"))  # type: ignore[arg-type]
