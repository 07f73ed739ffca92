"""Reconcile, backfill and cleanup (what the Alembic data operations run) on lineage features."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import polars as pl
import sqlalchemy as sa
from sqlmodel import SQLModel
from sqlmodel.main import default_registry

import metaxy_orm as mx
from example_app.lineage_pipeline import LineagePipeline, define_lineage_pipeline, expand_frames

from .conftest import provenance_by_key, reference_expected, run_all, videos

COUNTS = {"v1": 3, "v2": 1, "v10": 12}


@contextmanager
def redefined(code_versions: dict[str, str]) -> Iterator[LineagePipeline]:
    """The same tables under new code versions, in a new graph (the rows stay)."""
    SQLModel.metadata.clear()
    default_registry.dispose()
    with mx.FeatureGraph():
        yield define_lineage_pipeline(code_versions)


def test_reconcile_an_expansion_keeps_user_columns_and_settles(
    store: mx.MetadataStore, pipeline: LineagePipeline, engine: sa.Engine
) -> None:
    run_all(store, pipeline, videos(COUNTS))
    with redefined({"frames.pixels": "2"}) as new:
        inc = store.resolve_update(new.frames)
        assert sorted(inc.stale["video_id"]) == ["v1", "v10", "v2"]
        assert store.reconcile(new.frames, materialization_id="r1") == 16
        assert store.resolve_update(new.frames).is_empty()
        assert store.reconcile(new.frames, materialization_id="r1") == 0
        stored = store.read(new.frames)
        expected = reference_expected(store, new.frames, list(new))
        assert provenance_by_key(stored.unique(subset=["video_id"]), ["video_id"]) == expected
        # reconciled frames feed frame_faces as before: only its provenance moves on
        assert store.resolve_update(new.frame_faces).stale.height == 16
        assert store.delete_materialization(new.frames, "r1") == 16
        assert store.resolve_update(new.frames).stale.height == 3


def test_reconcile_an_aggregation(store: mx.MetadataStore, pipeline: LineagePipeline) -> None:
    run_all(store, pipeline, videos(COUNTS))
    store.write(
        pipeline.video_faces,
        store.read(pipeline.video_faces)
        .with_columns(max_faces=pl.lit(4))
        .drop("metaxy_created_at", "metaxy_feature_version", "metaxy_snapshot_version"),
    )
    with redefined({"video_faces.faces": "2"}) as new:
        assert store.resolve_update(new.video_faces).stale.height == 3
        assert store.reconcile(new.video_faces, materialization_id="r2") == 3
        assert store.resolve_update(new.video_faces).is_empty()
        stored = store.read(new.video_faces)
        assert stored["max_faces"].to_list() == [4, 4, 4]
        expected = reference_expected(store, new.video_faces, list(new))
        assert provenance_by_key(stored, ["video_id"]) == expected


def test_backfill_children_and_groups(
    store: mx.MetadataStore, pipeline: LineagePipeline, engine: sa.Engine
) -> None:
    samples = videos(COUNTS)
    store.write(pipeline.video, store.resolve_update(pipeline.video, samples=samples).new)
    # frames of v1 and v2 computed elsewhere, listed in a table of the same database
    source = sa.Table(
        "frames_done",
        sa.MetaData(),
        sa.Column("video_id", sa.String),
        sa.Column("frame_id", sa.Integer),
        sa.Column("timestamp_s", sa.Float),
    )
    with engine.begin() as conn:
        source.create(conn)
        conn.execute(
            sa.insert(source),
            [{"video_id": "v1", "frame_id": i, "timestamp_s": i / 25} for i in range(3)]
            + [{"video_id": "v2", "frame_id": 0, "timestamp_s": 0.0}],
        )
    assert store.backfill(pipeline.frames, source, materialization_id="b1") == 4
    assert store.backfill(pipeline.frames, source, materialization_id="b1") == 0
    inc = store.resolve_update(pipeline.frames)
    assert inc.new["video_id"].to_list() == ["v10"]
    assert inc.stale.is_empty()
    expected = reference_expected(store, pipeline.frames, list(pipeline))
    stored = store.read(pipeline.frames)
    assert provenance_by_key(stored.unique(subset=["video_id"]), ["video_id"]) == {
        k: v for k, v in expected.items() if k != ("v10",)
    }
    store.write(pipeline.frames, expand_frames(inc.new))
    store.write(pipeline.frame_faces, store.resolve_update(pipeline.frame_faces).new)
    groups = sa.select(sa.literal("v1").label("video_id"))
    assert store.backfill(pipeline.video_faces, groups, materialization_id="b2") == 1
    assert store.resolve_update(pipeline.video_faces).new["video_id"].to_list() == ["v10", "v2"]


def test_cleanup_keeps_the_latest_child_rows(
    store: mx.MetadataStore, pipeline: LineagePipeline
) -> None:
    run_all(store, pipeline, videos(COUNTS))
    changed = videos(COUNTS, frames={"v10": "re-encoded"})
    store.write(pipeline.video, store.resolve_update(pipeline.video, samples=changed).stale)
    store.write(pipeline.frames, expand_frames(store.resolve_update(pipeline.frames).stale))
    assert store.read(pipeline.frames, history=True).height == 28
    assert store.cleanup(pipeline.frames) == 12
    assert store.read(pipeline.frames, history=True).height == 16
    assert store.resolve_update(pipeline.frames).is_empty()


def test_offline_scripts_render_lineage_statements(graph: mx.FeatureGraph) -> None:
    """``alembic upgrade --sql`` compiles the statements without a connection, literally."""
    pipeline = define_lineage_pipeline()
    import duckdb_engine
    from sqlalchemy.dialects import postgresql

    from metaxy_orm._sql import data_ops
    from metaxy_orm._sql.statements import statements_for_dialect

    for dialect, spelling in (
        (postgresql.dialect(), "string_agg("),
        (duckdb_engine.Dialect(), "array_to_string(list("),
    ):
        for feature in (pipeline.frames, pipeline.video_faces):
            stmts = statements_for_dialect(feature, dialect)
            sql = str(
                data_ops.reconcile_statement(
                    stmts,
                    snapshot_version=stmts.snapshot_version,
                    materialization_id="rev1",
                    created_at=sa.func.now(),
                ).compile(dialect=dialect, compile_kwargs={"literal_binds": True})
            )
            assert "'rev1'" in sql
            if feature is pipeline.video_faces:
                assert spelling in sql
                assert 'COLLATE "C"' in sql
