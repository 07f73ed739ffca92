"""Aggregation (N:1): one expected row per group; a member-level change reaches its group only."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

import metaxy_orm as mx

from .conftest import provenance_by_key, reference_expected

PIXELS = "metaxy_provenance__pixels"


def define() -> tuple[type[mx.Feature], type[mx.Feature]]:
    class Frames(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="frames", id_columns=["video_id", "frame_id"], fields=["pixels", "depth"]
        ),
    ):
        video_id: str
        frame_id: int

    class Summary(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="summary",
            id_columns=["video_id"],
            deps=[
                mx.FeatureDep(
                    feature=Frames,
                    lineage=mx.LineageRelationship.aggregation(on=["video_id"]),
                    filters=[Frames.frame_id >= 0],  # type: ignore[attr-defined]
                )
            ],
            fields=[
                mx.FieldSpec(
                    key="caption",
                    code_version="1",
                    deps=[mx.FieldDep(feature=Frames, fields=["pixels"])],
                )
            ],
        ),
    ):
        video_id: str
        caption: str | None = None

    return Frames, Summary


def frame_rows(members: dict[tuple[str, int], str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "video_id": [v for v, _ in members],
            "frame_id": [f for _, f in members],
            PIXELS: list(members.values()),
            "metaxy_provenance__depth": [f"d-{v}-{f}" for v, f in members],
        },
        schema_overrides={"frame_id": pl.Int64},
    )


MEMBERS = {
    ("v1", 2): "b",
    ("v1", 10): "a",
    ("v1", 1): "c",
    ("v2", 7): "z",
    ("v3", 0): "m",
    ("v3", 3): "o",
    ("v5", 1): "q",
}


@pytest.fixture
def setup(engine: sa.Engine, graph: mx.FeatureGraph) -> Any:
    frames, summary = define()
    SQLModel.metadata.create_all(engine)
    store = mx.MetadataStore(engine)
    base = frame_rows({k: v for k, v in MEMBERS.items() if k != ("v3", 3)})
    store.write(frames, base)
    store.write(frames, frame_rows({("v3", 3): "o"}), materialization_id="extra-v3")
    # a member the filter leaves out: it never counts
    store.write(frames, frame_rows({("v2", -1): "ignored"}))
    inc = store.resolve_update(summary)
    assert sorted(inc.new["video_id"]) == ["v1", "v2", "v3", "v5"]
    store.write(summary, inc.new.with_columns(caption=pl.lit("ok")))
    assert store.resolve_update(summary).is_empty()
    return store, frames, summary


def kept(row: dict[str, Any]) -> bool:
    """The reference's twin of the dependency's filter."""
    return bool(row["frame_id"] >= 0)


def test_one_row_per_group_with_the_reference_provenance(setup: Any) -> None:
    store, frames, summary = setup
    rows = store.read(summary)
    assert rows.height == 4
    expected = reference_expected(store, summary, [frames, summary], kept)
    assert provenance_by_key(rows, ["video_id"]) == expected
    # without the filter, v2 would have another provenance: the filtered member is left out
    unfiltered = reference_expected(store, summary, [frames, summary])
    assert unfiltered[("v2",)] != expected[("v2",)]
    assert unfiltered[("v1",)] == expected[("v1",)]


def stale_groups(store: mx.MetadataStore, summary: type[mx.Feature]) -> dict[str, list[str]]:
    inc = store.resolve_update(summary)
    return {
        "new": sorted(inc.new["video_id"]),
        "stale": sorted(inc.stale["video_id"]),
        "orphaned": sorted(inc.orphaned["video_id"]),
    }


def test_changing_one_member_makes_its_group_stale(setup: Any) -> None:
    store, frames, summary = setup
    store.write(frames, frame_rows({("v1", 10): "a2"}))
    assert stale_groups(store, summary) == {"new": [], "stale": ["v1"], "orphaned": []}


def test_adding_one_member_makes_its_group_stale(setup: Any) -> None:
    store, frames, summary = setup
    store.write(frames, frame_rows({("v2", 8): "y"}))
    assert stale_groups(store, summary) == {"new": [], "stale": ["v2"], "orphaned": []}


def test_removing_one_member_makes_its_group_stale(setup: Any) -> None:
    store, frames, summary = setup
    assert store.delete_materialization(frames, "extra-v3") == 1
    assert stale_groups(store, summary) == {"new": [], "stale": ["v3"], "orphaned": []}


def test_a_member_the_filter_leaves_out_changes_nothing(setup: Any) -> None:
    store, frames, summary = setup
    store.write(frames, frame_rows({("v2", -1): "changed", ("v1", -3): "new"}))
    assert store.resolve_update(summary).is_empty()


def test_new_and_vanished_groups(setup: Any) -> None:
    store, frames, summary = setup
    store.write(frames, frame_rows({("v4", 0): "n"}))
    with store._db.begin() as conn:  # the only member of v5 disappears
        table = frames.__table__  # type: ignore[attr-defined]
        conn.execute(sa.delete(table).where(table.c.video_id == "v5"))
    assert stale_groups(store, summary) == {"new": ["v4"], "stale": [], "orphaned": ["v5"]}
    (status,) = store.status(summary)
    assert (status.rows, status.new, status.stale, status.orphaned) == (4, 1, 0, 1)


def test_a_member_data_version_that_did_not_change_stops_propagation(setup: Any) -> None:
    store, frames, summary = setup
    before = store.read(frames).filter(pl.col("video_id") == "v1", pl.col("frame_id") == 2)
    same_output = frame_rows({("v1", 2): "b-recomputed"}).with_columns(
        pl.lit(before["metaxy_data_version__pixels"][0]).alias("metaxy_data_version__pixels"),
        pl.lit(before["metaxy_data_version__depth"][0]).alias("metaxy_data_version__depth"),
    )
    store.write(frames, same_output)
    assert store.resolve_update(summary).is_empty()


def test_stale_groups_carry_the_expected_provenance(setup: Any) -> None:
    store, frames, summary = setup
    store.write(frames, frame_rows({("v1", 1): "c2", ("v3", 5): "p"}))
    inc = store.resolve_update(summary)
    expected = reference_expected(store, summary, [frames, summary], kept)
    got = provenance_by_key(inc.stale, ["video_id"])
    assert sorted(got) == [("v1",), ("v3",)]
    assert got == {k: expected[k] for k in got}
    store.write(summary, inc.stale)
    assert store.resolve_update(summary).is_empty()
