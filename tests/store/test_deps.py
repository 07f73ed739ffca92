"""``FeatureDep`` options: select and rename, filters, optional upstream features."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from sqlmodel import col

import metaxy_orm as mx

from .conftest import create_tables, uids
from .reference import IdKey, from_specs, provenance_column

VALUE = provenance_column("value")


def define_source() -> type[mx.Feature]:
    class Src(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(key="src", id_columns=["sample_uid"], fields=["value"]),
    ):
        sample_uid: str
        label: str | None = None
        score: int | None = None

    return Src


def source_rows(n: int = 12) -> pl.DataFrame:
    """``label`` is 'skip' for every third sample; ``score`` is 3 * i."""
    return pl.DataFrame(
        {
            "sample_uid": [f"u{i:02d}" for i in range(n)],
            VALUE: [f"v{i}" for i in range(n)],
            "label": ["skip" if i % 3 == 0 else f"label-{i}" for i in range(n)],
            "score": [3 * i for i in range(n)],
        }
    )


def root_field_values(frame: pl.DataFrame, field: str) -> dict[IdKey, dict[str, str]]:
    column = provenance_column(field)
    return {(r["sample_uid"],): {field: r[column]} for r in frame.iter_rows(named=True)}


def check_provenance(
    inc_frame: pl.DataFrame,
    features: list[type[mx.Feature]],
    key: str,
    parents: dict[str, dict[IdKey, dict[str, str]]],
) -> None:
    """The increment's per-field and row provenance equal the reference's."""
    reference = from_specs(f.feature_spec() for f in features)
    expected = reference.expected_provenance(key, parents, "md5", 8)
    fields = reference[key].field_keys
    actual = {
        (r["sample_uid"],): {f: r[provenance_column(f)] for f in fields}
        for r in inc_frame.iter_rows(named=True)
    }
    assert actual == {k: v for k, v in expected.items() if k in actual}
    for r in inc_frame.iter_rows(named=True):
        assert r["metaxy_provenance"] == reference.row_hash(
            key, actual[(r["sample_uid"],)], "md5", 8
        )


def test_select_and_rename_carry_upstream_columns(
    engine: sa.Engine, bare_store: mx.MetadataStore
) -> None:
    store = bare_store
    src = define_source()

    class Dst(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="dst",
            id_columns=["sample_uid"],
            deps=[
                mx.FeatureDep(feature=src, select=["label", "score"], rename={"label": "src_label"})
            ],
            fields=["value"],
        ),
    ):
        sample_uid: str
        src_label: str | None = None  # kept; `score` is increment-only

    create_tables(engine)
    rows = source_rows()
    store.write(src, rows)
    # a newer row for u04: the increment carries the latest upstream values
    store.write(src, rows.filter(pl.col("sample_uid") == "u04").with_columns(label=pl.lit("new")))

    inc = store.resolve_update(Dst)
    assert inc.new.columns == ["sample_uid", VALUE, "metaxy_provenance", "src_label", "score"]
    expected_labels = [
        "new" if u == "u04" else lab
        for u, lab in zip(rows["sample_uid"], rows["label"], strict=True)
    ]
    assert inc.new["src_label"].to_list() == expected_labels
    assert inc.new["score"].to_list() == rows["score"].to_list()
    check_provenance(inc.new, [src, Dst], "dst", {"src": root_field_values(rows, "value")})

    assert store.write(Dst, inc.new) == rows.height
    stored = store.read(Dst)
    assert stored["src_label"].to_list() == expected_labels
    assert "score" not in stored.columns
    assert store.resolve_update(Dst).is_empty()

    # stale rows carry the selected columns too
    changed = rows.filter(pl.col("sample_uid") == "u07").with_columns(pl.lit("v7b").alias(VALUE))
    store.write(src, changed)
    stale = store.resolve_update(Dst).stale
    assert stale["sample_uid"].to_list() == ["u07"]
    assert stale.select("src_label", "score").row(0) == ("label-7", 21)


def _expression(src: type[mx.Feature]) -> Any:
    return col(src.score) >= 10  # type: ignore[attr-defined]


FILTERS = {
    # name: (filters on the source class, FeatureDep.select, the columns filtered on)
    "expression": (lambda s: [_expression(s)], [], "score"),
    "expression on selected column": (lambda s: [_expression(s)], ["score"], "score"),
    "text": (lambda s: ["label <> 'skip'"], [], "label"),
    "text on selected column": (lambda s: ["label <> 'skip'"], ["label"], "label"),
    "expression and text": (lambda s: [_expression(s), "label <> 'skip'"], [], "both"),
}


@pytest.mark.parametrize("case", list(FILTERS))
def test_filters_exclude_upstream_rows(
    engine: sa.Engine, bare_store: mx.MetadataStore, case: str
) -> None:
    store = bare_store
    src = define_source()
    build, select, kind = FILTERS[case]

    class Dst(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="dst",
            id_columns=["sample_uid"],
            deps=[mx.FeatureDep(feature=src, select=select, filters=build(src))],
            fields=["value"],
        ),
    ):
        sample_uid: str

    create_tables(engine)
    rows = source_rows()
    by_score = pl.col("score") >= 10
    by_label = pl.col("label") != "skip"
    keep = {"score": by_score, "label": by_label, "both": by_score & by_label}[kind]
    store.write(src, rows)

    inc = store.resolve_update(Dst)
    expected = set(rows.filter(keep)["sample_uid"].to_list())
    assert uids(inc.new) == expected
    assert inc.stale.is_empty()
    assert inc.orphaned.is_empty()
    check_provenance(inc.new, [src, Dst], "dst", {"src": root_field_values(rows, "value")})
    store.write(Dst, inc.new)
    assert store.resolve_update(Dst).is_empty()

    # the filter applies to the latest upstream row: u10 stops passing it -> orphaned
    updates: dict[str, dict[str, Any]] = {
        "score": {"score": 0},
        "label": {"label": "skip"},
        "both": {"score": 0},
    }
    update = updates[kind]
    store.write(
        src,
        rows.filter(pl.col("sample_uid") == "u10").with_columns(
            **{k: pl.lit(v) for k, v in update.items()}
        ),
    )
    after = store.resolve_update(Dst)
    assert uids(after.orphaned) == {"u10"}
    assert after.new.is_empty()
    assert after.stale.is_empty()


def define_optional_graph() -> tuple[type[mx.Feature], ...]:
    class A(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(key="a", id_columns=["sample_uid"], fields=["x"]),
    ):
        sample_uid: str

    class B(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(key="b", id_columns=["sample_uid"], fields=["y", "z"]),
    ):
        sample_uid: str

    class D(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="d",
            id_columns=["sample_uid"],
            deps=[A, mx.FeatureDep(feature=B, optional=True)],
            fields=[
                "default",
                mx.FieldSpec(
                    key="only_b", code_version="3", deps=[mx.FieldDep(feature=B, fields=["y"])]
                ),
            ],
        ),
    ):
        sample_uid: str

    class E(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="e",
            id_columns=["sample_uid"],
            deps=[
                mx.FeatureDep(feature=A, optional=True),
                mx.FeatureDep(feature=B, optional=True),
            ],
        ),
    ):
        sample_uid: str

    return A, B, D, E


def test_optional_upstream_hashes_as_empty(engine: sa.Engine, bare_store: mx.MetadataStore) -> None:
    store = bare_store
    a, b, d, e = define_optional_graph()
    create_tables(engine)
    a_rows = pl.DataFrame(
        {
            "sample_uid": [f"u{i:02d}" for i in range(10)],
            "metaxy_provenance__x": [f"x{i}" for i in range(10)],
        }
    )
    b_ids = [f"u{i:02d}" for i in (*range(5), 10, 11)]
    b_rows = pl.DataFrame(
        {
            "sample_uid": b_ids,
            "metaxy_provenance__y": [f"y-{u}" for u in b_ids],
            "metaxy_provenance__z": [f"z-{u}" for u in b_ids],
        }
    )
    store.write(a, a_rows)
    store.write(b, b_rows)
    parents = {
        "a": root_field_values(a_rows, "x"),
        "b": {
            (r["sample_uid"],): {"y": r["metaxy_provenance__y"], "z": r["metaxy_provenance__z"]}
            for r in b_rows.iter_rows(named=True)
        },
    }
    features = [a, b, d, e]

    d_inc = store.resolve_update(d)
    assert uids(d_inc.new) == set(a_rows["sample_uid"].to_list())  # a is required
    check_provenance(d_inc.new, features, "d", parents)
    # for u07 b is missing: its parts are empty strings
    reference = from_specs(f.feature_spec() for f in features)
    parts = reference.provenance_parts("d", "only_b", {"a": {"x": "x7"}, "b": None})
    assert parts == ["only_b", "3", "b.y", ""]
    assert (
        d_inc.new.filter(pl.col("sample_uid") == "u07")[provenance_column("only_b")].item()
        == (reference.expected_provenance("d", parents, "md5", 8)[("u07",)]["only_b"])
    )

    e_inc = store.resolve_update(e)
    assert uids(e_inc.new) == set(a_rows["sample_uid"].to_list()) | set(b_ids)  # any parent
    check_provenance(e_inc.new, features, "e", parents)

    # the optional upstream arrives later: the sample becomes stale
    store.write(d, d_inc.new)
    late = pl.DataFrame(
        {
            "sample_uid": ["u07"],
            "metaxy_provenance__y": ["y-late"],
            "metaxy_provenance__z": ["z-late"],
        }
    )
    store.write(b, late)
    stale = store.resolve_update(d).stale
    assert uids(stale) == {"u07"}
    parents["b"][("u07",)] = {"y": "y-late", "z": "z-late"}
    check_provenance(stale, features, "d", parents)


def test_text_filter_with_percent_literal(engine: sa.Engine, bare_store: mx.MetadataStore) -> None:
    """SQL text is sent as written: a '%' in a literal is one '%' on every backend."""
    store = bare_store
    src = define_source()

    class Dst(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="dst",
            id_columns=["sample_uid"],
            deps=[mx.FeatureDep(feature=src, select=["label"], filters=["label <> '50%'"])],
            fields=["value"],
        ),
    ):
        sample_uid: str

    create_tables(engine)
    rows = source_rows().with_columns(
        label=pl.when(pl.col("score") > 20).then(pl.lit("50%")).otherwise(pl.col("label"))
    )
    store.write(src, rows)
    inc = store.resolve_update(Dst)
    assert uids(inc.new) == set(rows.filter(pl.col("label") != "50%")["sample_uid"].to_list())


def test_fewer_id_columns_than_upstream(engine: sa.Engine, bare_store: mx.MetadataStore) -> None:
    """A feature keyed by fewer id columns than its upstream (one row per sample from several
    upstream rows) must either be refused at definition or resolve to one row per sample."""
    store = bare_store

    class Chunk(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(key="chunk", id_columns=["sample_uid", "part"], fields=["v"]),
    ):
        sample_uid: str
        part: int

    try:

        class Summary(
            mx.Feature,
            table=True,
            spec=mx.FeatureSpec(key="summary", id_columns=["sample_uid"], deps=[Chunk]),
        ):
            sample_uid: str

    except mx.FeatureSpecError as exc:  # refusing the definition is a fine answer
        message = str(exc)
    else:
        message = ""
    if message:
        assert "summary" in message
        return
    create_tables(engine)
    store.write(
        Chunk,
        [
            {"sample_uid": s, "part": p, "metaxy_provenance__v": f"{s}-{p}"}
            for s in ("s1", "s2")
            for p in range(3)
        ],
    )
    inc = store.resolve_update(Summary)
    assert inc.new["sample_uid"].to_list() == ["s1", "s2"]
    assert store.write(Summary, inc.new) == 2
