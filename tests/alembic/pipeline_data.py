"""Metadata of the example pipeline, written and read with the store, for the data-migration tests.

The tests write rows the way a pipeline would (``resolve_update``, compute, ``write``), with
user columns filled in, then migrate them with Alembic and look at the result with the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import polars as pl
import sqlalchemy as sa
from alembic_helpers import Project

import metaxy_orm as mx

#: Samples in the data-migration tests.
N = 12

FEATURE_TABLES = ("video", "crop", "face_detection", "stt")


def uid(i: int) -> str:
    return f"s{i:03d}"


def root_samples(n: int = N, *, start: int = 0) -> pl.DataFrame:
    """Samples of ``video``: ids, per-field provenance (checksums) and user columns."""
    uids = [uid(i) for i in range(start, start + n)]
    return pl.DataFrame(
        {
            "sample_uid": uids,
            "metaxy_provenance__audio": [f"audio-{u}" for u in uids],
            "metaxy_provenance__frames": [f"frames-{u}" for u in uids],
            "path": [f"/videos/{u}.mp4" for u in uids],
            "duration_s": [10.0 + i for i in range(n)],
        }
    )


#: What "computing" each downstream feature yields: its user columns.
OUTPUTS = {
    "crop": lambda uids: {"path": [f"/crops/{u}.mp4" for u in uids]},
    "face_detection": lambda uids: {"num_faces": [len(u) for u in uids]},
    "stt": lambda uids: {"transcript": [f"hello {u}" for u in uids]},
}


@contextmanager
def store(project: Project) -> Iterator[mx.MetadataStore]:
    with mx.MetadataStore(project.database_url) as s:
        yield s


def compute(
    project: Project,
    graph: mx.FeatureGraph,
    samples: pl.DataFrame,
    *,
    only: tuple[str, ...] = FEATURE_TABLES,
) -> None:
    """Resolve and write every feature of the pipeline (upstream first), user columns included."""
    with store(project) as s:
        for feature in graph:
            key = str(feature.feature_key())
            if key not in only:
                continue
            if key == "video":
                increment = s.resolve_update(feature, samples=samples)
                rows = increment.to_compute
            else:
                increment = s.resolve_update(feature)
                rows = increment.to_compute
                rows = rows.with_columns(
                    **{
                        name: pl.Series(values)
                        for name, values in OUTPUTS[key](rows["sample_uid"].to_list()).items()
                    }
                )
            s.write(feature, rows)


def resolve(project: Project, graph: mx.FeatureGraph, key: str) -> mx.Increment:
    with store(project) as s:
        return s.resolve_update(graph.get_feature(key))


def stale_uids(project: Project, graph: mx.FeatureGraph, key: str) -> set[str]:
    increment = resolve(project, graph, key)
    assert increment.new.is_empty(), increment
    assert increment.orphaned.is_empty(), increment
    return set(increment.stale["sample_uid"].to_list())


def latest(project: Project, graph: mx.FeatureGraph, key: str) -> pl.DataFrame:
    with store(project) as s:
        return s.read(graph.get_feature(key))


def counts(project: Project) -> dict[str, int]:
    """Rows per feature table (every row, not only the latest)."""
    with project.connect() as connection:
        return {
            table: int(
                connection.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar()
                or 0
            )
            for table in FEATURE_TABLES
        }


def rows_of(project: Project, table: str, materialization_id: str) -> int:
    with project.connect() as connection:
        query = (
            sa.select(sa.func.count())
            .select_from(sa.table(table, sa.column("metaxy_materialization_id")))
            .where(sa.column("metaxy_materialization_id") == materialization_id)
        )
        return int(connection.execute(query).scalar() or 0)
