"""Data migrations in offline SQL scripts (``alembic upgrade --sql``), and how hand-written data
operations are rendered."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from alembic.autogenerate import render_python_code
from alembic.operations import ops
from alembic.util import CommandError
from alembic_helpers import Project, plain
from pipeline_data import N, compute, counts, resolve, root_samples, rows_of, stale_uids, uid

import alembic_ext.render  # noqa: F401 - the renderers, which autogenerate loads otherwise
import metaxy_orm as mx
from alembic_ext import (
    BackfillFeatureOp,
    CannotUndoCleanupOp,
    CleanupFeatureOp,
    DeleteMaterializationOp,
    ReconcileFeaturesOp,
)

ALL = {uid(i) for i in range(N)}


def statements(script: str, prefix: str) -> str:
    """The statements of a script that start with ``prefix``, as a script of their own."""
    return "".join(f"{s};\n\n" for s in script.split(";\n\n") if plain(s).startswith(prefix))


def without_version_table(script: str) -> str:
    """Alembic starts every offline script with CREATE TABLE alembic_version; it exists here."""
    return ";\n\n".join(
        s for s in script.split(";\n\n") if not plain(s).startswith("CREATE TABLE alembic_version")
    )


@pytest.fixture
def reconciled(project: Project, define) -> mx.FeatureGraph:
    """Revision 0001 applied and computed; 0002 (crop.frames 2, reconciled) written, not applied."""
    graph = define()
    project.revision("example feature graph", rev_id="0001")
    project.upgrade()
    compute(project, graph, root_samples())
    v2 = define({"crop.frames": "2"})
    project.x("reconcile=crop,face_detection")
    project.revision("crop frames v2, reconciled", rev_id="0002")
    project.x()
    return v2


def test_reconcile_in_an_offline_script(
    project: Project, reconciled: mx.FeatureGraph, backend: str
) -> None:
    """PostgreSQL and DuckDB hash in SQL: the script does what the online upgrade does. SQLite
    hashes with a Python function registered on each connection: no script."""
    if backend == "sqlite":
        with pytest.raises(CommandError, match="reconcile crop needs a live connection on sqlite"):
            project.offline("0001:0002")
        return
    script = project.offline("0001:0002")
    text = plain(script)
    for table in ("crop", "face_detection"):
        assert f"INSERT INTO {table} (sample_uid, " in text
    assert "md5(" in text.lower()  # ClickHouse spells it MD5
    assert "greatest(CURRENT_TIMESTAMP, (SELECT max(crop.metaxy_created_at)" in text
    assert "'0002' AS metaxy_materialization_id" in text
    assert text.index("INSERT INTO crop") < text.index("INSERT INTO face_detection")
    assert stale_uids(project, reconciled, "crop") == ALL  # writing the script changed nothing

    project.run_sql_script(script)
    assert project.current() == "0002"
    assert resolve(project, reconciled, "crop").is_empty()
    assert resolve(project, reconciled, "face_detection").is_empty()
    assert rows_of(project, "crop", "0002") == rows_of(project, "face_detection", "0002") == N
    project.check()

    # the same statements again: nothing left to write
    project.run_sql_script(
        statements(script, "INSERT INTO crop") + statements(script, "INSERT INTO face_detection")
    )
    assert counts(project) == {"video": N, "crop": 2 * N, "face_detection": 2 * N, "stt": N}

    down = project.offline("0002:0001", downgrade=True)
    assert re.search(
        r"DELETE FROM crop WHERE (crop\.)?metaxy_materialization_id = '0002'", plain(down)
    )
    project.run_sql_script(without_version_table(down))
    assert project.current() == "0001"
    assert counts(project) == dict.fromkeys(("video", "crop", "face_detection", "stt"), N)
    assert stale_uids(project, reconciled, "crop") == ALL


def test_cleanup_and_backfill_in_offline_scripts(
    project: Project, reconciled: mx.FeatureGraph, backend: str
) -> None:
    """Cleanup hashes nothing: its script runs on every backend, SQLite included. A backfill
    script needs the source's columns spelled out."""
    project.upgrade()  # online
    project.write_revision(
        "0003",
        "0002",
        'op.cleanup_feature("crop", keep_last=1)',
        'op.cannot_undo_cleanup("crop", keep_last=1)',
    )
    script = project.offline("0002:0003")
    # ClickHouse's DELETE names the columns without their table
    assert re.search(r"DELETE FROM crop WHERE \((crop\.)?sample_uid, ", plain(script))
    project.run_sql_script(script)
    assert project.current() == "0003"
    assert counts(project)["crop"] == N
    assert resolve(project, reconciled, "crop").is_empty()

    project.write_revision(
        "0004",
        "0003",
        'op.backfill_feature("stt", "legacy_stt", materialization_id=revision)',
        "pass",
    )
    with pytest.raises(
        CommandError, match="an offline script cannot read the columns of 'legacy_stt'"
    ):
        project.offline("0003:0004")
    if backend == "sqlite":
        return
    project.write_revision(
        "0004",
        "0003",
        """
        legacy = sa.table("legacy_stt", sa.column("sample_uid"), sa.column("transcript"))
        op.backfill_feature("stt", legacy, materialization_id=revision)
        """,
        'op.delete_materialization("stt", materialization_id=revision)',
    )
    with project.connect() as connection:
        connection.exec_driver_sql("DELETE FROM stt WHERE sample_uid < 's004'")
        connection.exec_driver_sql(
            "CREATE TABLE legacy_stt (sample_uid VARCHAR, transcript VARCHAR)"
        )
        connection.exec_driver_sql("INSERT INTO legacy_stt VALUES ('s000', 'hi'), ('s001', 'ho')")
        connection.commit()
    script = project.offline("0003:0004")
    assert "INSERT INTO stt (sample_uid, transcript, " in plain(script)
    project.run_sql_script(script)
    assert rows_of(project, "stt", "0004") == 2
    assert set(resolve(project, reconciled, "stt").new["sample_uid"]) == {uid(2), uid(3)}


# -- rendering of hand-written operations ---------------------------------------------------


def render(*operations: ops.MigrateOperation) -> str:
    return render_python_code(ops.UpgradeOps(ops=list(operations)))


def test_data_operations_render_as_calls() -> None:
    backfill = BackfillFeatureOp("crop", "legacy_crop", materialization_id=None)
    query = BackfillFeatureOp("crop", sa.text("SELECT * FROM old"), materialization_id="bf1")
    cleanup = CleanupFeatureOp("crop", keep_last=3)
    reconcile = ReconcileFeaturesOp(["crop", "face_detection"], materialization_id="r1")
    text = render(backfill, query, cleanup, reconcile)
    assert 'mxop.backfill_feature("crop", "legacy_crop", materialization_id=revision)' in text
    assert (
        'mxop.backfill_feature("crop", sa.text("SELECT * FROM old"), materialization_id="bf1")'
        in text
    )
    assert 'mxop.cleanup_feature("crop", keep_last=3)' in text
    assert 'mxop.reconcile_features(["crop", "face_detection"], materialization_id="r1")' in text

    down = render_python_code(ops.UpgradeOps(ops=[backfill, query, cleanup, reconcile]).reverse())
    lines = [line.strip() for line in down.splitlines()]
    assert lines.index(
        'mxop.delete_materialization(["crop", "face_detection"], materialization_id="r1")'
    ) < lines.index('mxop.cannot_undo_cleanup("crop", keep_last=3)')
    assert 'mxop.delete_materialization("crop", materialization_id="bf1")' in lines
    assert 'mxop.delete_materialization("crop", materialization_id=revision)' in lines
    assert (
        "# The rows the cleanup deleted cannot be restored: this stops a downgrade. Pass" in lines
    )
    assert isinstance(CannotUndoCleanupOp("crop").reverse(), CleanupFeatureOp)
    with pytest.raises(ValueError, match="not reversible"):
        DeleteMaterializationOp("crop", materialization_id="x").reverse()
    with pytest.raises(ValueError, match="cannot write the backfill source"):
        render(BackfillFeatureOp("crop", sa.table("t"), materialization_id=None))
    with pytest.raises(ValueError, match="keep_last must be a positive integer"):
        CleanupFeatureOp("crop", keep_last=0)
