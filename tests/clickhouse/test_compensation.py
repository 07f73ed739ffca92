"""ClickHouse has no transactions: what a failed migration step did is compensated instead.

The data operations of ``alembic_ext`` and the DDL of the ClickHouse Alembic implementations
record how to reverse themselves on the connection (``metaxy_orm._backends.undo``); a rollback
of the connection's transaction (Alembic rolls back a revision that fails) runs the reversals,
a commit forgets them. ``tests/alembic/test_alembic_data_ops.py`` runs whole failing revisions
through the ``alembic`` command; these tests pin the finer points on chDB.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import polars as pl
import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlmodel import SQLModel

import metaxy_orm as mx
from alembic_ext.ops import BackfillFeatureOp, CleanupFeatureOp, DeleteMaterializationOp
from alembic_ext.options import GRAPH_OPTION
from example_app.pipeline import define_video_pipeline
from metaxy_orm._backends import load_alembic_implementations
from metaxy_orm._backends.clickhouse.provision import chdb_database

pytestmark = pytest.mark.clickhouse

UIDS = [f"s{i:02d}" for i in range(10)]


@pytest.fixture
def engine(tmp_path: object) -> Iterator[sa.Engine]:
    with chdb_database(tmp_path) as url:  # type: ignore[arg-type]
        eng = sa.create_engine(url)
        yield eng
        eng.dispose()


@pytest.fixture
def pipeline(engine: sa.Engine, graph: mx.FeatureGraph) -> mx.FeatureGraph:
    """The example pipeline's tables, ``video`` holding every sample and nothing downstream."""
    define_video_pipeline()
    SQLModel.metadata.create_all(engine)
    with mx.MetadataStore(engine) as store:
        video = graph.get_feature("video")
        samples = pl.DataFrame(
            {
                "sample_uid": UIDS,
                "metaxy_provenance__audio": [f"a-{u}" for u in UIDS],
                "metaxy_provenance__frames": [f"f-{u}" for u in UIDS],
            }
        )
        store.write(video, store.resolve_update(video, samples=samples).to_compute)
    return graph


def operations(conn: sa.Connection, graph: mx.FeatureGraph) -> Operations:
    load_alembic_implementations()
    return Operations(MigrationContext.configure(conn, opts={GRAPH_OPTION: graph}))


def tagged(engine: sa.Engine, table: str, materialization_id: str | None = None) -> list[str]:
    """The sample ids of a table's rows (those of one materialization), sorted."""
    query = f"SELECT sample_uid FROM {table}"
    if materialization_id is not None:
        query += f" WHERE metaxy_materialization_id = '{materialization_id}'"
    with engine.connect() as conn:
        return sorted(r[0] for r in conn.execute(sa.text(query + " ORDER BY sample_uid")))


def source(uids: list[str]) -> sa.TextClause:
    values = " UNION ALL ".join(f"SELECT '{u}' AS sample_uid, 'p' AS path" for u in uids)
    return sa.text(values)


def test_a_rollback_deletes_only_the_rows_its_own_run_wrote(
    engine: sa.Engine, pipeline: mx.FeatureGraph
) -> None:
    """Rows an earlier, committed run tagged with the same materialization id stay."""
    with engine.connect() as conn, conn.begin():
        BackfillFeatureOp.backfill_feature(
            operations(conn, pipeline), "crop", source(UIDS[:4]), materialization_id="m"
        )
    assert tagged(engine, "crop", "m") == UIDS[:4]

    with engine.connect() as conn:
        transaction = conn.begin()
        written = BackfillFeatureOp.backfill_feature(
            operations(conn, pipeline), "crop", source(UIDS), materialization_id="m"
        )
        assert written == 6
        assert tagged(engine, "crop", "m") == UIDS  # visible to others until compensated
        transaction.rollback()
    assert tagged(engine, "crop") == UIDS[:4]


def test_a_failing_operation_undoes_the_features_it_did(
    engine: sa.Engine, pipeline: mx.FeatureGraph
) -> None:
    """delete_materialization of two features fails on the second: the first one's rows are
    back even if the revision goes on (the error is caught) and commits."""
    with engine.connect() as conn, conn.begin():
        ops = operations(conn, pipeline)
        BackfillFeatureOp.backfill_feature(ops, "crop", source(UIDS), materialization_id="m")
        BackfillFeatureOp.backfill_feature(ops, "stt", source(UIDS[:3]), materialization_id="m")
    with engine.connect() as conn:
        conn.execute(sa.text("DROP TABLE stt"))  # the second feature's DELETE will fail
    with engine.connect() as conn, conn.begin(), pytest.raises(mx.MetaxyError):
        DeleteMaterializationOp.delete_materialization(
            operations(conn, pipeline), ["crop", "stt"], materialization_id="m"
        )
    # downstream first: crop's rows were deleted, then put back when stt failed
    assert tagged(engine, "crop", "m") == UIDS
    assert not [t for t in sa.inspect(engine).get_table_names() if t.startswith("__mx_saved")]


def test_a_cleanup_puts_its_rows_back_on_rollback_and_drops_them_on_commit(
    engine: sa.Engine, pipeline: mx.FeatureGraph
) -> None:
    with engine.connect() as conn, conn.begin():
        BackfillFeatureOp.backfill_feature(
            operations(conn, pipeline), "crop", source(UIDS), materialization_id="one"
        )
    with engine.connect() as conn, conn.begin():  # a newer row per sample
        conn.execute(
            sa.text(
                "INSERT INTO crop SELECT * REPLACE (now64(6) AS metaxy_created_at, "
                "'two' AS metaxy_materialization_id) FROM crop"
            )
        )
    assert len(tagged(engine, "crop")) == 2 * len(UIDS)

    with engine.connect() as conn:
        transaction = conn.begin()
        assert CleanupFeatureOp.cleanup_feature(operations(conn, pipeline), "crop") == len(UIDS)
        assert tagged(engine, "crop", "one") == []
        transaction.rollback()
    assert tagged(engine, "crop", "one") == UIDS
    assert tagged(engine, "crop", "two") == UIDS

    with engine.connect() as conn, conn.begin():
        CleanupFeatureOp.cleanup_feature(operations(conn, pipeline), "crop")
    assert tagged(engine, "crop", "one") == []
    assert tagged(engine, "crop", "two") == UIDS
    assert not [t for t in sa.inspect(engine).get_table_names() if t.startswith("__mx_saved")]


def test_ddl_is_reversed_on_rollback_and_what_cannot_be_is_named(
    engine: sa.Engine, pipeline: mx.FeatureGraph, caplog: pytest.LogCaptureFixture
) -> None:
    before = {t: [c["name"] for c in sa.inspect(engine).get_columns(t)] for t in ("video",)}
    with engine.connect() as conn:
        transaction = conn.begin()
        ops = operations(conn, pipeline)
        ops.create_table("extra", sa.Column("id", sa.Integer(), primary_key=True))
        ops.add_column("video", sa.Column("note", sa.String(), nullable=True))
        ops.create_index("ix_video_note", "video", ["note"])
        ops.drop_column("crop", "path")
        caplog.set_level(logging.INFO, logger="metaxy_orm._backends.undo")
        transaction.rollback()
    inspector = sa.inspect(engine)
    assert "extra" not in inspector.get_table_names()
    assert [c["name"] for c in inspector.get_columns("video")] == before["video"]
    with engine.connect() as conn:
        indexes = conn.execute(
            sa.text("SELECT name FROM system.data_skipping_indices WHERE table = 'video'")
        ).all()
    assert indexes == []
    assert any("not undone" in m and "drop column crop.path" in m for m in caplog.messages)
