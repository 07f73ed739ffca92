"""Property tests: random graphs and samples give the reference versions on every backend.

The SQL hashing of ``resolve_update``, the Polars twin used by ``write`` and ``hashlib`` (the
reference) must agree on every version, for any graph shape, code version and sample text.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import metaxy_orm as mx
from metaxy_orm.hashing import HashAlgorithm, polars_hash_parts, sql_hash_parts

from .reference import (
    IdKey,
    data_version_column,
    from_specs,
    hash_parts,
    provenance_column,
)

#: No shrinking: a failure is reported at once (shrinking through a database takes minutes).
SETTINGS = settings(
    max_examples=12,
    deadline=None,
    database=None,
    derandomize=True,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

#: Characters that are awkward somewhere: separators, quotes, CSV, LIKE, escapes, non-ASCII.
AWKWARD = st.sampled_from([*"ab1|'%_\\\",;é日 ", "\n", "\t", "💡"])
TEXT = st.text(alphabet=AWKWARD, max_size=6)
ALGORITHMS = st.sampled_from(["md5", "sha256"])
TRUNCATIONS = st.sampled_from([8, 9, 16, 32, 33, 64])
FIELD_KEYS = ["a", "b", "x1", "d/e"]


@dataclass(frozen=True)
class FieldPlan:
    key: str
    code_version: str
    deps: tuple[tuple[int, tuple[str, ...] | None], ...] | None


@dataclass(frozen=True)
class FeaturePlan:
    key: str
    fields: tuple[FieldPlan, ...]
    deps: tuple[tuple[int, bool], ...]  # (upstream index, optional)


@dataclass(frozen=True)
class GraphPlan:
    features: tuple[FeaturePlan, ...]
    with_part: bool  # a second, integer id column


@st.composite
def graph_plans(draw: st.DrawFn) -> GraphPlan:
    features: list[FeaturePlan] = []
    for i in range(draw(st.integers(1, 4))):
        keys = draw(st.lists(st.sampled_from(FIELD_KEYS), min_size=1, max_size=3, unique=True))
        parents = draw(st.lists(st.integers(0, i - 1), unique=True, max_size=2)) if i else []
        deps: tuple[tuple[int, bool], ...] = tuple((p, draw(st.booleans())) for p in parents)
        fields = []
        for key in keys:
            field_deps: tuple[tuple[int, tuple[str, ...] | None], ...] | None = None
            explicit_deps: bool = draw(st.booleans())
            if deps and explicit_deps:  # explicit FieldDeps (possibly none at all)
                chosen = draw(st.lists(st.sampled_from(parents), unique=True))
                explicit = []
                for p in chosen:
                    upstream = [f.key for f in features[p].fields]
                    subset = draw(
                        st.none()
                        | st.lists(st.sampled_from(upstream), min_size=1, unique=True).map(tuple)
                    )
                    explicit.append((p, subset))
                field_deps = tuple(explicit)
            fields.append(FieldPlan(key, draw(TEXT), field_deps))
        key = draw(st.sampled_from([f"f{i}", f"grp/f{i}"]))
        features.append(FeaturePlan(key, tuple(fields), deps))
    return GraphPlan(tuple(features), draw(st.booleans()))


def define(plan: GraphPlan) -> list[type[mx.Feature]]:
    """Feature classes for a plan, in the active graph."""
    id_columns = ["sample_uid", "part"] if plan.with_part else ["sample_uid"]
    annotations: dict[str, Any] = {"sample_uid": str}
    if plan.with_part:
        annotations["part"] = int
    classes: list[type[mx.Feature]] = []
    for i, feature in enumerate(plan.features):
        fields = [
            mx.FieldSpec(
                key=f.key,
                code_version=f.code_version,
                deps=None
                if f.deps is None
                else [
                    mx.FieldDep(feature=classes[p], fields=None if sub is None else list(sub))
                    for p, sub in f.deps
                ],
            )
            for f in feature.fields
        ]
        spec = mx.FeatureSpec(
            key=feature.key,
            id_columns=id_columns,
            deps=[mx.FeatureDep(feature=classes[p], optional=opt) for p, opt in feature.deps],
            fields=fields,
        )
        body = {"__annotations__": dict(annotations), "__module__": __name__}
        cls = types.new_class(
            f"Random{i}", (mx.Feature,), {"table": True, "spec": spec}, body_of(body)
        )
        classes.append(cls)
    return classes


def body_of(body: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return lambda namespace: namespace.update(body)


@st.composite
def sample_pools(draw: st.DrawFn, with_part: bool) -> list[IdKey]:
    ids: st.SearchStrategy[IdKey] = (
        st.tuples(TEXT, st.integers(-(2**31), 2**31 - 1)) if with_part else TEXT.map(lambda u: (u,))
    )
    return draw(st.lists(ids, min_size=1, max_size=6, unique=True))


def root_frame(
    ids: list[IdKey], values: dict[IdKey, dict[str, str]], fields: list[str], with_part: bool
) -> pl.DataFrame:
    columns: dict[str, pl.Series] = {"sample_uid": pl.Series([i[0] for i in ids], dtype=pl.String)}
    if with_part:
        columns["part"] = pl.Series([i[1] for i in ids], dtype=pl.Int64)
    for f in fields:
        columns[provenance_column(f)] = pl.Series([values[i][f] for i in ids], dtype=pl.String)
    return pl.DataFrame(columns)


def row_id(row: dict[str, Any], with_part: bool) -> IdKey:
    return (row["sample_uid"], row["part"]) if with_part else (row["sample_uid"],)


@SETTINGS
@given(plan=graph_plans(), data=st.data(), algorithm=ALGORITHMS, truncation=TRUNCATIONS)
def test_random_graph_versions_equal_reference(
    engine: sa.Engine, plan: GraphPlan, data: st.DataObject, algorithm: str, truncation: int
) -> None:
    with mx.FeatureGraph() as example_graph:  # its own tables: nothing global to clear
        classes = define(plan)
        tables = mx.metadata_of(example_graph)
        tables.create_all(engine)
        try:
            check_graph(engine, plan, classes, data, algorithm, truncation)
        finally:
            tables.drop_all(engine)


def check_graph(
    engine: sa.Engine,
    plan: GraphPlan,
    classes: list[type[mx.Feature]],
    data: st.DataObject,
    algorithm: str,
    truncation: int,
) -> None:
    reference = from_specs(c.feature_spec() for c in classes)
    store = mx.MetadataStore(engine, hash_algorithm=algorithm, hash_truncation_length=truncation)
    pool = data.draw(sample_pools(plan.with_part), label="ids")

    roots: dict[str, dict[IdKey, dict[str, str]]] = {}
    for cls in classes:
        key = str(cls.feature_key())
        if cls.feature_spec().deps:
            inc = store.resolve_update(cls)
        else:
            fields = reference[key].field_keys
            ids = data.draw(st.lists(st.sampled_from(pool), unique=True), label=f"{key} ids")
            roots[key] = {
                i: {f: data.draw(TEXT, label=f"{key} {i} {f}") for f in fields} for i in ids
            }
            frame = root_frame(ids, roots[key], fields, plan.with_part)
            inc = store.resolve_update(cls, samples=frame)
        assert inc.stale.is_empty()
        assert inc.orphaned.is_empty()
        store.write(cls, inc.new)

    expected = reference.simulate(roots, algorithm, truncation)
    hash_algorithm = HashAlgorithm(algorithm)
    for cls in classes:
        key = str(cls.feature_key())
        frame = store.read(cls)
        rows = {row_id(r, plan.with_part): r for r in frame.iter_rows(named=True)}
        assert set(rows) == set(expected[key]), key
        for sample, want in expected[key].items():
            assert {c: rows[sample][c] for c in want} == want, (key, sample)

        # the Polars twin of the hash gives the same text, from the same parts
        if frame.is_empty():
            continue
        fields = reference[key].field_keys
        row_level = frame.select(
            polars_hash_parts(
                [pl.col(provenance_column(f)) for f in fields], hash_algorithm, truncation
            )
        ).to_series()
        assert row_level.to_list() == frame["metaxy_provenance"].to_list()
        if not reference[key].deps:
            continue
        for field in fields:
            samples = list(expected[key])
            parts = [
                reference.provenance_parts(key, field, parent_values(expected, reference, key, s))
                for s in samples
            ]
            width = len(parts[0])
            table = pl.DataFrame(
                {f"p{j}": [p[j] for p in parts] for j in range(width)},
                schema={f"p{j}": pl.String for j in range(width)},
            )
            twin = table.select(
                polars_hash_parts([pl.col(c) for c in table.columns], hash_algorithm, truncation)
            ).to_series()
            column = provenance_column(field)
            assert twin.to_list() == [expected[key][s][column] for s in samples]
            assert twin.to_list() == [hash_parts(p, algorithm, truncation) for p in parts]

    # and nothing is left to do
    for cls in classes:
        if cls.feature_spec().deps:
            assert store.resolve_update(cls).is_empty()
        else:
            key = str(cls.feature_key())
            frame = root_frame(
                list(roots[key]), roots[key], reference[key].field_keys, plan.with_part
            )
            assert store.resolve_update(cls, samples=frame).is_empty()


def parent_values(
    expected: dict[str, dict[IdKey, dict[str, str]]],
    reference: Any,
    key: str,
    sample: IdKey,
) -> dict[str, dict[str, str] | None]:
    """The data versions of each parent's row for a sample (None: no row)."""
    values: dict[str, dict[str, str] | None] = {}
    for dep in reference[key].deps:
        row = expected[dep.feature].get(sample)
        values[dep.feature] = (
            None
            if row is None
            else {f: row[data_version_column(f)] for f in reference[dep.feature].field_keys}
        )
    return values


@SETTINGS
@given(
    parts=st.lists(TEXT, min_size=1, max_size=5),
    algorithm=ALGORITHMS,
    truncation=TRUNCATIONS,
)
def test_hash_of_parts_is_the_same_in_sql_polars_and_hashlib(
    engine: sa.Engine, parts: list[str], algorithm: str, truncation: int
) -> None:
    store = mx.MetadataStore(engine)
    hash_algorithm = HashAlgorithm(algorithm)
    expected = hash_parts(parts, algorithm, truncation)
    columns = [sa.literal(p, sa.String()).label(f"p{j}") for j, p in enumerate(parts)]
    source = sa.select(*columns).subquery("parts")
    stmt = sa.select(
        sql_hash_parts([source.c[f"p{j}"] for j in range(len(parts))], hash_algorithm, truncation)
    )
    with engine.connect() as conn:
        store.backend.prepare(conn)
        in_sql = conn.execute(stmt).scalar_one()
    frame = pl.DataFrame({f"p{j}": [p] for j, p in enumerate(parts)})
    in_polars = frame.select(
        polars_hash_parts([pl.col(c) for c in frame.columns], hash_algorithm, truncation)
    ).item()
    assert in_sql == in_polars == expected
