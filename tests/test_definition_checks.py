"""Definition-time checks: mistakes that used to surface only at resolve time or in one database.

Each refused class leaves no trace (no table in ``SQLModel.metadata``, no feature in the graph),
so the same names are free to use right after.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import metaxy_orm as mx
from metaxy_orm._backends import strictest_identifier_length


def _video() -> type[mx.Feature]:
    class Video(mx.Feature, table=True, spec=mx.FeatureSpec(key="video", id_columns=["uid"])):
        uid: str
        path: str | None = None

    return Video


def _int_id_downstream(video: type[mx.Feature]) -> None:
    class Bad(
        mx.Feature, table=True, spec=mx.FeatureSpec(key="bad", id_columns=["uid"], deps=[video])
    ):
        uid: int


def _select_unknown(video: type[mx.Feature]) -> None:
    class Bad(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="bad", id_columns=["uid"], deps=[mx.FeatureDep(feature=video, select=["nope"])]
        ),
    ):
        uid: str


def _reserved_sa_column(video: type[mx.Feature]) -> None:
    class Bad(mx.Feature, table=True, spec=mx.FeatureSpec(key="bad", id_columns=["uid"])):
        uid: str
        custom: str | None = Field(default=None, sa_column=sa.Column("metaxy_custom", sa.String))


def _reserved_table_name(video: type[mx.Feature]) -> None:
    class Bad(mx.Feature, table=True, spec=mx.FeatureSpec(key="bad", id_columns=["uid"])):
        __tablename__ = "metaxy_graph_snapshots"
        uid: str


def _reserved_table_by_key(video: type[mx.Feature]) -> None:
    class Bad(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(key="metaxy_graph_snapshots", id_columns=["uid"]),
    ):
        uid: str


def _duplicate_table_name(video: type[mx.Feature]) -> None:
    class Bad(mx.Feature, table=True, spec=mx.FeatureSpec(key="bad", id_columns=["uid"])):
        __tablename__ = "video"
        uid: str


def _shared_prefix(video: type[mx.Feature]) -> None:
    limit = strictest_identifier_length()
    stem = "c" * limit
    namespace = {
        "__annotations__": {"uid": str, f"{stem}_a": int | None, f"{stem}_b": int | None},
        f"{stem}_a": None,
        f"{stem}_b": None,
    }
    spec = mx.FeatureSpec(key="bad", id_columns=["uid"])
    type("Bad", (mx.Feature,), namespace, table=True, spec=spec)


CASES: dict[str, tuple[Callable[[type[mx.Feature]], None], str]] = {
    "id type differs from upstream": (_int_id_downstream, "id column 'uid'"),
    "select names a missing column": (_select_unknown, r"\['nope'\]"),
    "reserved name through sa_column": (_reserved_sa_column, "'metaxy_custom'"),
    "reserved table name": (_reserved_table_name, "'metaxy_graph_snapshots'"),
    "reserved table name from the key": (_reserved_table_by_key, "'metaxy_graph_snapshots'"),
    "table name already used": (_duplicate_table_name, "'video' is already used"),
    "columns sharing the identifier prefix": (_shared_prefix, "longer than"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_refused_at_class_definition(graph: mx.FeatureGraph, case: str) -> None:
    video = _video()
    define, match = CASES[case]
    tables_before = dict(SQLModel.metadata.tables)
    with pytest.raises(mx.FeatureSpecError, match=match):
        define(video)
    assert "bad" not in graph
    assert dict(SQLModel.metadata.tables) == tables_before

    class Bad(mx.Feature, table=True, spec=mx.FeatureSpec(key="bad", id_columns=["uid"])):
        uid: str

    assert graph.get_feature("bad") is Bad


def test_int_and_float_are_64_bit(graph: mx.FeatureGraph) -> None:
    """``int``/``float`` map to BIGINT/DOUBLE; an explicit ``sa_type`` is kept."""

    class Typed(mx.Feature, table=True, spec=mx.FeatureSpec(key="typed", id_columns=["uid"])):
        uid: str
        count: int | None = None
        ratio: float | None = None
        small: int | None = Field(default=None, sa_type=sa.Integer)
        single: float | None = Field(default=None, sa_type=sa.Float)

    table: sa.Table = Typed.__table__  # type: ignore[attr-defined]
    assert type(table.c.count.type) is sa.BigInteger
    assert type(table.c.ratio.type) is sa.Double
    assert type(table.c.small.type) is sa.Integer
    assert type(table.c.single.type) is sa.Float
