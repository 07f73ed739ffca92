"""Property test: random lineage graphs give the same versions in SQL, Polars and hashlib.

Graph shape (random fields, code versions, field deps, id types, data and hash settings)::

    members(g, m) --N:1--> groups(g) <--1:1-- videos(g)      (the identity dep is drawn)
    videos(g) --1:N--> parts(g, m) --N:1--> rollup(g)

For each downstream feature the expected provenance of ``resolve_update`` (SQL, in the
database) must equal the hashlib reference (``tests/lineage/reference.py``) and a Polars twin
built from :mod:`metaxy_orm.hashing`'s Polars hash (members sorted, joined, hashed).
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
from store.reference import from_specs

import metaxy_orm as mx
from metaxy_orm.hashing import HashAlgorithm, polars_hash_parts, polars_hash_text

from .conftest import lineage_of, provenance_by_key, stored_rows
from .reference import expected_provenance

SETTINGS = settings(
    max_examples=10,
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
AWKWARD = st.sampled_from([*"aAbB1|'%_\\\",;é日 ", "\n", "💡", "ß"])
TEXT = st.text(alphabet=AWKWARD, max_size=4)
FIELD_KEYS = ["a", "b", "x1"]
LR = mx.LineageRelationship


@dataclass(frozen=True)
class Plan:
    fields: dict[str, list[tuple[str, str]]]  # feature -> [(field key, code version)]
    explicit: dict[str, bool]  # feature -> explicit FieldDeps on all upstream fields
    groups_also_on_videos: bool
    text_members: bool  # the member id column m: text (else integer)


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    fields = {
        name: [
            (k, draw(TEXT))
            for k in draw(
                st.lists(st.sampled_from(FIELD_KEYS), min_size=1, max_size=2, unique=True)
            )
        ]
        for name in ("members", "videos", "groups", "parts", "rollup")
    }
    explicit = {name: draw(st.booleans()) for name in ("groups", "parts", "rollup")}
    return Plan(fields, explicit, draw(st.booleans()), draw(st.booleans()))


def define(plan: Plan) -> dict[str, type[mx.Feature]]:
    m_type: Any = str if plan.text_members else int
    classes: dict[str, type[mx.Feature]] = {}

    def make(name: str, ids: list[str], deps: list[mx.FeatureDep]) -> None:
        annotations: dict[str, Any] = {"g": str}
        if "m" in ids:
            annotations["m"] = m_type
        fields = []
        for key, cv in plan.fields[name]:
            field_deps = None
            if plan.explicit.get(name):
                field_deps = [mx.FieldDep(feature=d.feature) for d in deps]
            fields.append(mx.FieldSpec(key=key, code_version=cv, deps=field_deps))
        spec = mx.FeatureSpec(key=name, id_columns=ids, deps=deps, fields=fields)
        body = {"__annotations__": annotations, "__module__": __name__}
        classes[name] = types.new_class(
            name.title(), (mx.Feature,), {"table": True, "spec": spec}, body_of(body)
        )

    make("members", ["g", "m"], [])
    make("videos", ["g"], [])
    group_deps = [mx.FeatureDep(feature=classes["members"], lineage=LR.aggregation(on=["g"]))]
    if plan.groups_also_on_videos:
        group_deps.append(mx.FeatureDep(feature=classes["videos"]))
    make("groups", ["g"], group_deps)
    make(
        "parts", ["g", "m"], [mx.FeatureDep(feature=classes["videos"], lineage=LR.expansion(["g"]))]
    )
    make("rollup", ["g"], [mx.FeatureDep(feature=classes["parts"], lineage=LR.aggregation())])
    return classes


def body_of(body: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return lambda namespace: namespace.update(body)


@SETTINGS
@given(
    plan=plans(),
    data=st.data(),
    algorithm=st.sampled_from(["md5", "sha256"]),
    truncation=st.sampled_from([8, 13, 32, 64]),
)
def test_random_lineage_graphs_agree_in_sql_polars_and_hashlib(
    engine: sa.Engine, plan: Plan, data: st.DataObject, algorithm: str, truncation: int
) -> None:
    with mx.FeatureGraph() as example_graph:  # its own tables: nothing global to clear
        classes = define(plan)
        tables = mx.metadata_of(example_graph)
        tables.create_all(engine)
        try:
            check(engine, plan, classes, data, algorithm, truncation)
        finally:
            tables.drop_all(engine)


def check(
    engine: sa.Engine,
    plan: Plan,
    classes: dict[str, type[mx.Feature]],
    data: st.DataObject,
    algorithm: str,
    truncation: int,
) -> None:
    store = mx.MetadataStore(engine, hash_algorithm=algorithm, hash_truncation_length=truncation)
    member_ids = TEXT if plan.text_members else st.integers(-(2**31), 2**31 - 1)
    groups = data.draw(st.lists(TEXT, min_size=1, max_size=4, unique=True), label="groups")
    members = data.draw(
        st.lists(
            st.tuples(st.sampled_from(groups), member_ids), min_size=1, max_size=8, unique=True
        ),
        label="members",
    )
    write_root(store, classes["members"], members, ["g", "m"], data)
    write_root(store, classes["videos"], [(g,) for g in groups], ["g"], data)
    graph = list(classes.values())

    for name in ("groups", "parts", "rollup"):
        feature = classes[name]
        inc = store.resolve_update(feature)
        key = list(lineage_of(feature).expected_key)
        got = provenance_by_key(inc.new, key)
        parents = {
            d.feature: stored_rows(store, classes[d.feature]) for d in lineage_of(feature).deps
        }
        reference = expected_provenance(
            from_specs(c.feature_spec() for c in graph),
            lineage_of(feature),
            parents,
            algorithm,
            truncation,
        )
        assert got == reference, name
        assert got == polars_twin(store, feature, classes, algorithm, truncation), name
        rows = inc.new
        if name == "parts":  # 1 to 3 parts per video, ids drawn
            counts = {g: data.draw(st.integers(1, 3), label=f"parts of {g!r}") for (g,) in got}
            ids = {
                g: data.draw(
                    st.lists(member_ids, min_size=n, max_size=n, unique=True), label=f"ids {g!r}"
                )
                for g, n in counts.items()
            }
            rows = rows.with_columns(
                pl.col("g")
                .replace_strict(
                    ids, return_dtype=pl.List(pl.String if plan.text_members else pl.Int64)
                )
                .alias("m")
            ).explode("m")
        store.write(feature, rows)
        assert store.resolve_update(feature).is_empty(), name


def write_root(
    store: mx.MetadataStore,
    feature: type[mx.Feature],
    ids: list[tuple[Any, ...]],
    columns: list[str],
    data: st.DataObject,
) -> None:
    """Root rows with drawn provenance, and sometimes a data version the user overrode."""
    spec = feature.feature_spec()
    frame: dict[str, list[Any]] = {c: [i[j] for i in ids] for j, c in enumerate(columns)}
    for key in spec.field_keys:
        frame[f"metaxy_provenance__{key}"] = [
            data.draw(TEXT, label=f"{spec.key}.{key}") for _ in ids
        ]
        if data.draw(st.booleans(), label="override"):
            frame[f"metaxy_data_version__{key}"] = [data.draw(TEXT, label="dv") for _ in ids]
    store.write(feature, pl.DataFrame(frame))


def polars_twin(
    store: mx.MetadataStore,
    feature: type[mx.Feature],
    classes: dict[str, type[mx.Feature]],
    algorithm: str,
    truncation: int,
) -> dict[Any, dict[str, str]]:
    """The expected provenance computed in Polars from the stored parent rows."""
    h = HashAlgorithm(algorithm)
    spec = feature.feature_spec()
    lineage = lineage_of(feature)
    key = list(lineage.expected_key)
    per_parent = []
    for dep in spec.deps:
        parent = classes[str(dep.feature)]
        pspec = parent.feature_spec()
        dv = {str(k): f"metaxy_data_version__{k.column_suffix}" for k in pspec.field_keys}
        rows = store.read(parent).select([*pspec.id_columns, *dv.values()])
        if dep.lineage.is_aggregation:
            rows = (
                rows.sort(list(pspec.id_columns))
                .group_by(key, maintain_order=True)
                .agg(polars_hash_text(pl.col(c).str.join("|"), h, truncation) for c in dv.values())
            )
        rows = rows.select(*key, *(pl.col(c).alias(f"{dep.feature}.{f}") for f, c in dv.items()))
        per_parent.append(rows)
    joined = per_parent[0]
    for other in per_parent[1:]:
        joined = joined.join(other, on=key, how="inner")
    graph = feature.feature_graph()
    outputs = []
    for field in spec.fields:
        parts: list[pl.Expr | str] = [str(field.key), field.code_version]
        for parent, parent_field in graph.parent_fields(spec.key, field.key):
            name = f"{parent}.{parent_field}"
            parts += [name, pl.col(name)]
        outputs.append(polars_hash_parts(parts, h, truncation).alias(str(field.key)))
    result = joined.select(*key, *outputs)
    return {
        tuple(r[c] for c in key): {str(f.key): r[str(f.key)] for f in spec.fields}
        for r in result.iter_rows(named=True)
    }
