"""Fixtures of the lineage tests: the example lineage pipeline and helpers to run it.

Every test that takes ``engine`` (``tests/conftest.py``) runs once per backend.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel
from store.reference import from_specs

import metaxy_orm as mx
from example_app.lineage_pipeline import LineagePipeline, define_lineage_pipeline, expand_frames

from .reference import LineageDep, LineageFeature, Row, expected_provenance

AUDIO = "metaxy_provenance__audio"
FRAMES = "metaxy_provenance__frames"


def videos(counts: Mapping[str, int], *, frames: Mapping[str, str] | None = None) -> pl.DataFrame:
    """Root samples of ``video``: checksums per field, a path and a frame count."""
    ids = list(counts)
    return pl.DataFrame(
        {
            "video_id": ids,
            AUDIO: [f"audio-{v}" for v in ids],
            FRAMES: [(frames or {}).get(v, f"frames-{v}") for v in ids],
            "path": [f"/videos/{v}.mp4" for v in ids],
            "n_frames": [counts[v] for v in ids],
        },
        schema_overrides={"n_frames": pl.Int64},
    )


def lineage_of(feature: type[mx.Feature]) -> LineageFeature:
    """The reference's description of a feature's lineage (spec data only)."""
    spec = feature.feature_spec()
    return LineageFeature(
        str(spec.key),
        tuple(spec.id_columns),
        tuple(
            LineageDep(
                str(d.feature),
                d.lineage.type.value,
                None if d.lineage.on is None else tuple(d.lineage.on),
                d.optional,
            )
            for d in spec.deps
        ),
    )


def stored_rows(store: mx.MetadataStore, feature: type[mx.Feature]) -> list[Row]:
    """A feature's latest rows as the reference wants them: ids and data versions by field."""
    spec = feature.feature_spec()
    frame = store.read(feature)
    fields = {str(k): f"metaxy_data_version__{k.column_suffix}" for k in spec.field_keys}
    return [
        {**{c: r[c] for c in spec.id_columns}, **{f: r[col] for f, col in fields.items()}}
        for r in frame.iter_rows(named=True)
    ]


def reference_expected(
    store: mx.MetadataStore,
    feature: type[mx.Feature],
    graph: Sequence[type[mx.Feature]],
    keep: Callable[[Row], bool] = lambda row: True,
) -> dict[Any, dict[str, str]]:
    """What the hashlib reference expects for ``feature``, from what the store holds.

    ``keep`` selects the parent rows (the twin of a ``FeatureDep`` filter).
    """
    ref = from_specs(f.feature_spec() for f in graph)
    lineage = lineage_of(feature)
    parents = {
        d.feature: [r for r in stored_rows(store, graph_feature(graph, d.feature)) if keep(r)]
        for d in lineage.deps
    }
    return expected_provenance(
        ref, lineage, parents, store.hash_algorithm.value, store.hash_truncation_length
    )


def graph_feature(graph: Sequence[type[mx.Feature]], key: str) -> type[mx.Feature]:
    return next(f for f in graph if str(f.feature_key()) == key)


def provenance_by_key(frame: pl.DataFrame, key: Sequence[str]) -> dict[Any, dict[str, str]]:
    """``{key tuple: {field: provenance}}`` of an increment frame."""
    prefix = "metaxy_provenance__"
    columns = [c for c in frame.columns if c.startswith(prefix)]
    return {
        tuple(r[c] for c in key): {c[len(prefix) :]: r[c] for c in columns}
        for r in frame.iter_rows(named=True)
    }


def run_all(store: mx.MetadataStore, pipeline: LineagePipeline, samples: pl.DataFrame) -> None:
    """Compute everything that is new or stale, upstream first (frames expanded per video)."""
    inc = store.resolve_update(pipeline.video, samples=samples)
    store.write(pipeline.video, inc.to_compute)
    store.write(pipeline.frames, expand_frames(store.resolve_update(pipeline.frames).to_compute))
    for feature in pipeline[2:]:
        store.write(feature, store.resolve_update(feature).to_compute)


@pytest.fixture
def pipeline(graph: mx.FeatureGraph, engine: sa.Engine) -> LineagePipeline:
    features = define_lineage_pipeline()
    SQLModel.metadata.create_all(engine)
    return features


@pytest.fixture
def store(engine: sa.Engine, pipeline: LineagePipeline) -> mx.MetadataStore:
    return mx.MetadataStore(engine)
