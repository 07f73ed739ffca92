"""Data migrations through the real ``alembic`` commands, on every backend: reconcile after a
code-version bump, backfill, cleanup, their downgrades, re-runs that write nothing, and failures
that leave the database as it was."""

from __future__ import annotations

import logging
import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from alembic.util import CommandError
from alembic_helpers import (
    REPO,
    Project,
    function_body,
    make_project,
    op_calls,
    revision_text,
    ruff_check,
    ruff_format,
)
from pipeline_data import (
    OUTPUTS,
    N,
    compute,
    counts,
    latest,
    resolve,
    root_samples,
    rows_of,
    stale_uids,
    store,
    uid,
)

import metaxy_orm as mx
from alembic_ext import PROGRESS_LOGGER as PROGRESS
from metaxy_orm.snapshots import graph_snapshot

ALL = {uid(i) for i in range(N)}
REVISION = "revision"  # how autogenerate writes materialization_id: the revision's own id


def names(path: Path, function: str) -> list[str]:
    return [name for name, _, _ in op_calls(path, function)]


def assert_ruff_clean(project: Project) -> None:
    for path in sorted((project.migrations / "versions").glob("*.py")):
        result = ruff_check(path)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def v1(project: Project, define) -> mx.FeatureGraph:
    """The example pipeline, migrated to revision 0001 and computed for N samples."""
    graph = define()
    project.revision("example feature graph", rev_id="0001")
    project.upgrade()
    compute(project, graph, root_samples())
    assert counts(project) == dict.fromkeys(("video", "crop", "face_detection", "stt"), N)
    return graph


# -- reconcile -------------------------------------------------------------------------------


def test_without_reconcile_a_code_version_bump_leaves_every_sample_stale(
    project: Project, v1: mx.FeatureGraph, define
) -> None:
    v2 = define({"crop.frames": "2"})
    path = project.revision("crop frames v2", rev_id="0002")
    upgrade = function_body(path, "upgrade")
    assert names(path, "upgrade") == ["record_graph_changes"]  # no reconcile runs unasked...
    # ... it is proposed, commented out, with the versions it would reconcile onto
    crop_v2 = v2.feature_version("crop")
    faces_v2 = v2.feature_version("face_detection")
    assert (
        "    # mxop.reconcile_features(\n"
        f'    #     {{"crop": "{crop_v2}", "face_detection": "{faces_v2}"}},\n'
        "    #     materialization_id=revision,\n"
        "    # )\n" in upgrade
    )
    explanation = " ".join(
        line.strip().removeprefix("# ") for line in upgrade.splitlines() if "# " in line
    )
    assert "Reconcile instead of recomputing?" in explanation
    assert "If the change did not alter their outputs" in explanation
    assert (
        "generate the revision with "
        "`alembic -x reconcile=crop,face_detection revision --autogenerate`" in explanation
    )
    downgrade = function_body(path, "downgrade")
    assert (
        '    # mxop.delete_materialization(["crop", "face_detection"], materialization_id=revision)'
        in downgrade
    )
    assert op_calls(path, "downgrade") == [revert_v2(v2)]
    assert_ruff_clean(project)

    project.upgrade()
    assert stale_uids(project, v2, "crop") == ALL
    assert stale_uids(project, v2, "face_detection") == ALL
    assert resolve(project, v2, "stt").is_empty()
    assert counts(project) == dict.fromkeys(("video", "crop", "face_detection", "stt"), N)
    project.check()

    # the pipeline recomputes them, upstream first (docs/alembic.md shows this loop)
    snippet = runpy.run_path(str(REPO / "docs" / "snippets" / "alembic" / "recompute.py"))

    def outputs(feature: type[mx.Feature], rows: pl.DataFrame) -> pl.DataFrame:
        produced = OUTPUTS[str(feature.feature_key())](rows["sample_uid"].to_list())
        return rows.with_columns(**{k: pl.Series(v) for k, v in produced.items()})

    with store(project) as s:
        snippet["recompute"](s, [v2.get_feature("crop"), v2.get_feature("face_detection")], outputs)
    assert resolve(project, v2, "crop").is_empty()
    assert resolve(project, v2, "face_detection").is_empty()


def test_reconcile_moves_rows_onto_the_new_versions(
    project: Project, v1: mx.FeatureGraph, define, caplog: pytest.LogCaptureFixture
) -> None:
    before = {key: latest(project, v1, key) for key in ("crop", "face_detection")}
    v2 = define({"crop.frames": "2"})
    project.x("reconcile=crop,face_detection")
    path = project.revision("crop frames v2, reconciled", rev_id="0002")
    upgrade = function_body(path, "upgrade")
    versions = {key: v2.feature_version(key) for key in ("crop", "face_detection")}
    assert op_calls(path, "upgrade")[1:] == [
        ("reconcile_features", [versions], {"materialization_id": REVISION})
    ]
    assert "# Reconciled without recomputation, as asked (reconcile=crop,face_detection)" in upgrade
    assert op_calls(path, "downgrade") == [
        (
            "delete_materialization",
            [["crop", "face_detection"]],
            {"materialization_id": REVISION},
        ),
        revert_v2(v2),
    ]
    assert "# mxop." not in revision_text(path)  # nothing left to propose
    assert_ruff_clean(project)

    caplog.set_level(logging.INFO, logger=PROGRESS)
    project.upgrade()
    assert resolve(project, v2, "crop").is_empty()
    assert resolve(project, v2, "face_detection").is_empty()
    assert resolve(project, v2, "stt").is_empty()
    assert counts(project) == {"video": N, "crop": 2 * N, "face_detection": 2 * N, "stt": N}
    assert rows_of(project, "crop", "0002") == rows_of(project, "face_detection", "0002") == N
    progress = [r.getMessage() for r in caplog.records if r.name == PROGRESS]
    assert "[1/2] reconcile crop ..." in progress
    assert any(
        re.fullmatch(rf"\[1/2\] reconcile crop: {N} row\(s\) written in [\d.]+ s", m)
        for m in progress
    )
    assert any(
        m.startswith(f"[2/2] reconcile face_detection: {N} row(s) written") for m in progress
    )

    # the new rows keep the user's columns and carry the new versions and the revision id
    for key, column in (("crop", "path"), ("face_detection", "num_faces")):
        now = latest(project, v2, key)
        assert now[column].to_list() == before[key][column].to_list()
        assert set(now["metaxy_feature_version"]) == {v2.feature_version(key)}
        assert set(now["metaxy_snapshot_version"]) == {v2.snapshot_version}
        assert set(now["metaxy_materialization_id"]) == {"0002"}
        assert (now["metaxy_created_at"] > before[key]["metaxy_created_at"]).all()
    # crop.audio did not change: its provenance and data version are the same as before
    crop = latest(project, v2, "crop")
    assert crop["metaxy_provenance__audio"].to_list() == (
        before["crop"]["metaxy_provenance__audio"].to_list()
    )
    assert crop["metaxy_provenance__frames"].to_list() != (
        before["crop"]["metaxy_provenance__frames"].to_list()
    )
    project.check()

    # running the revision again writes nothing
    caplog.clear()
    project.stamp("0001")
    project.upgrade()
    assert counts(project) == {"video": N, "crop": 2 * N, "face_detection": 2 * N, "stt": N}
    progress = [r.getMessage() for r in caplog.records if r.name == PROGRESS]
    assert any(m.startswith("[1/2] reconcile crop: 0 row(s) written") for m in progress)
    assert any(m.startswith("[2/2] reconcile face_detection: 0 row(s) written") for m in progress)

    # downgrade removes the rows it wrote: the stale rows are the latest again
    project.downgrade("0001")
    assert counts(project) == dict.fromkeys(("video", "crop", "face_detection", "stt"), N)
    assert stale_uids(project, v2, "crop") == ALL
    assert stale_uids(project, v2, "face_detection") == ALL
    assert project.latest_snapshot() == graph_snapshot(v1)
    assert latest(project, v2, "crop").equals(before["crop"])

    project.upgrade()
    assert resolve(project, v2, "crop").is_empty()
    assert resolve(project, v2, "face_detection").is_empty()


def test_reconcile_only_what_is_named(project: Project, v1: mx.FeatureGraph, define) -> None:
    """Reconciling crop alone leaves face_detection stale (its version changed too)."""
    v2 = define({"crop.frames": "2"})
    project.x("reconcile=crop")
    path = project.revision("crop reconciled", rev_id="0002")
    upgrade = function_body(path, "upgrade")
    assert op_calls(path, "upgrade")[1:] == [
        (
            "reconcile_features",
            [{"crop": v2.feature_version("crop")}],
            {"materialization_id": REVISION},
        )
    ]
    faces_v2 = v2.feature_version("face_detection")
    assert (
        f'    # mxop.reconcile_features({{"face_detection": "{faces_v2}"}}, '
        "materialization_id=revision)\n" in upgrade
    )
    assert (
        "generate the revision with "
        "`alembic -x reconcile=crop,face_detection revision --autogenerate`"
        in " ".join(line.strip().removeprefix("# ") for line in upgrade.splitlines())
    )
    assert op_calls(path, "downgrade")[0] == (
        "delete_materialization",
        ["crop"],
        {"materialization_id": REVISION},
    )
    assert_ruff_clean(project)
    project.upgrade()
    assert resolve(project, v2, "crop").is_empty()
    assert stale_uids(project, v2, "face_detection") == ALL


def test_reconcile_set_in_env_py(project: Project, v1: mx.FeatureGraph, define) -> None:
    env = project.migrations / "env.py"
    text = env.read_text(encoding="utf-8")
    call = "alembic_ext.configure(connection=connection, target_metadata=target_metadata)"
    assert call in text
    env.write_text(
        text.replace(call, call[:-1] + ', reconcile=["crop", "face_detection"])'),
        encoding="utf-8",
    )
    v2 = define({"crop.frames": "2"})
    path = project.revision("reconciled by configuration", rev_id="0002")
    assert names(path, "upgrade") == ["record_graph_changes", "reconcile_features"]
    project.upgrade()
    assert resolve(project, v2, "crop").is_empty()
    assert resolve(project, v2, "face_detection").is_empty()


def test_reconcile_skips_a_feature_whose_code_moved_on(
    project: Project, v1: mx.FeatureGraph, define, caplog: pytest.LogCaptureFixture
) -> None:
    """A database two revisions behind: revision 0002 reconciles crop onto version 2, but the
    code is at version 3 (revision 0003, which needs recomputing). 0002 must not reconcile onto
    version 3: it skips, with a warning, and the rows stay stale."""
    v2 = define({"crop.frames": "2"})
    project.x("reconcile=crop,face_detection")
    project.revision("v2, reconciled", rev_id="0002")
    project.upgrade()
    project.x()
    v3 = define({"crop.frames": "3"})
    project.revision("v3, recomputed", rev_id="0003")
    project.downgrade("0001")  # the database two revisions behind, the code at 0003
    assert counts(project)["crop"] == N
    caplog.set_level(logging.INFO, logger=PROGRESS)
    project.upgrade()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        f"not reconciling 'crop': this revision reconciles it onto version "
        f"{v2.feature_version('crop')}, but the code defines version "
        f"{v3.feature_version('crop')}" in m
        for m in warnings
    ), warnings
    assert any("not reconciling 'face_detection'" in m for m in warnings)
    assert counts(project)["crop"] == N
    assert stale_uids(project, v3, "crop") == ALL
    assert stale_uids(project, v3, "face_detection") == ALL


# -- backfill --------------------------------------------------------------------------------


def test_backfill_from_a_table_and_from_a_query(
    project: Project, define, caplog: pytest.LogCaptureFixture
) -> None:
    graph = define()
    project.revision("example feature graph", rev_id="0001")
    project.upgrade()
    # video for s000..s011, crop only for s000..s003; crop computed elsewhere for s004..s015
    compute(project, graph, root_samples(), only=("video", "crop"))
    with project.connect() as connection:
        connection.exec_driver_sql("DELETE FROM crop WHERE sample_uid >= 's004'")
        connection.exec_driver_sql("CREATE TABLE legacy_crop (sample_uid VARCHAR, path VARCHAR)")
        connection.execute(
            sa.text("INSERT INTO legacy_crop VALUES (:u, :p)"),
            [{"u": uid(i), "p": f"/legacy/{uid(i)}.mp4"} for i in range(4, 16)],
        )
        connection.commit()
    before = counts(project)
    assert before["crop"] == 4
    increment = resolve(project, graph, "crop")
    assert set(increment.new["sample_uid"]) == {uid(i) for i in range(4, N)}

    project.write_revision(
        "0002",
        "0001",
        'op.backfill_feature("crop", "legacy_crop", materialization_id=revision)',
        'op.delete_materialization("crop", materialization_id=revision)',
    )
    caplog.set_level(logging.INFO, logger=PROGRESS)
    project.upgrade()
    # s004..s011 written; s012..s015 have no video (no provenance): skipped
    assert counts(project)["crop"] == 4 + (N - 4)
    assert rows_of(project, "crop", "0002") == N - 4
    assert resolve(project, graph, "crop").is_empty()
    crop = latest(project, graph, "crop")
    assert crop.filter(crop["sample_uid"] >= uid(4))["path"].to_list() == [
        f"/legacy/{uid(i)}.mp4" for i in range(4, N)
    ]
    assert any(m.startswith(f"backfill crop: {N - 4} row(s) written") for m in caplog.messages), (
        caplog.messages
    )

    project.stamp("0001")  # again: nothing to write
    project.upgrade()
    assert counts(project)["crop"] == N

    # backfill from a query, downstream of the backfilled rows
    project.write_revision(
        "0003",
        "0002",
        """
        op.backfill_feature(
            "face_detection",
            sa.text("SELECT sample_uid, 2 AS num_faces, 'ignored' AS other FROM legacy_crop"),
            materialization_id=revision,
        )
        """,
        'op.delete_materialization("face_detection", materialization_id=revision)',
    )
    project.upgrade()
    assert counts(project)["face_detection"] == N - 4
    faces = resolve(project, graph, "face_detection")
    assert set(faces.new["sample_uid"]) == {uid(i) for i in range(4)}  # not in legacy_crop
    assert faces.stale.is_empty()
    assert set(latest(project, graph, "face_detection")["num_faces"]) == {2}

    project.downgrade("0001")
    assert counts(project) == before
    assert set(resolve(project, graph, "crop").new["sample_uid"]) == {uid(i) for i in range(4, N)}
    assert project.current() == "0001"


# -- cleanup ---------------------------------------------------------------------------------


def test_cleanup_keeps_the_latest_rows_and_cannot_be_undone(
    project: Project, v1: mx.FeatureGraph, define, caplog: pytest.LogCaptureFixture
) -> None:
    v2 = define({"crop.frames": "2"})
    project.x("reconcile=crop,face_detection")
    project.revision("reconciled", rev_id="0002")
    project.upgrade()
    # a third generation of crop rows, recomputed with the same outputs
    with mx.MetadataStore(project.database_url) as store:
        rows = store.read(v2.get_feature("crop")).drop("metaxy_created_at")
        store.write(v2.get_feature("crop"), rows)
    assert counts(project)["crop"] == 3 * N
    crop_before = latest(project, v2, "crop")

    project.write_revision(
        "0003",
        "0002",
        'op.cleanup_feature("crop", keep_last=2)',
        'op.cannot_undo_cleanup("crop", keep_last=2)',
    )
    project.write_revision(
        "0004",
        "0003",
        """
        op.cleanup_feature("crop")
        op.cleanup_feature("face_detection", keep_last=1)
        """,
        """
        op.cannot_undo_cleanup("face_detection", keep_last=1, downgrade_anyway=True)
        op.cannot_undo_cleanup("crop", keep_last=1)
        """,
    )
    caplog.set_level(logging.INFO, logger=PROGRESS)
    project.upgrade("0003")
    assert counts(project)["crop"] == 2 * N  # history retention: the two newest per sample
    assert any(
        m.startswith(f"cleanup crop (keep_last=2): {N} row(s) deleted") for m in caplog.messages
    )
    project.upgrade("0004")
    assert counts(project) == dict.fromkeys(("video", "crop", "face_detection", "stt"), N)
    assert latest(project, v2, "crop").equals(crop_before)  # the latest rows are untouched
    assert resolve(project, v2, "crop").is_empty()
    assert resolve(project, v2, "face_detection").is_empty()

    project.stamp("0002")  # again: nothing left to delete
    caplog.clear()
    project.upgrade()
    assert counts(project)["crop"] == N
    assert any(
        m.startswith("cleanup crop (keep_last=1): 0 row(s) deleted") for m in caplog.messages
    )

    with pytest.raises(
        CommandError, match=r"cleanup_feature\('crop', keep_last=1\) cannot be undone"
    ):
        project.downgrade("0003")
    assert project.current() == "0004"
    assert counts(project)["crop"] == N

    path = project.migrations / "versions" / "0004_by_hand.py"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            'op.cannot_undo_cleanup("crop", keep_last=1)',
            'op.cannot_undo_cleanup("crop", keep_last=1, downgrade_anyway=True)',
        ),
        encoding="utf-8",
    )
    caplog.clear()
    project.downgrade("0003")
    assert project.current() == "0003"
    assert any("is not undone: the rows it deleted are gone" in m for m in caplog.messages)
    assert counts(project)["crop"] == N


# -- failures --------------------------------------------------------------------------------

FAILING = {
    "unknown feature": 'op.reconcile_features(["crop", "cropp"], materialization_id=revision)',
    "missing source table": 'op.backfill_feature("crop", "no_such", materialization_id=revision)',
    "bad source column": (
        'op.backfill_feature("crop", sa.text("SELECT nope FROM video"), materialization_id="x")'
    ),
}


@pytest.mark.parametrize("failure", FAILING)
def test_a_failing_data_operation_leaves_the_database_as_it_was(
    project: Project, v1: mx.FeatureGraph, define, failure: str
) -> None:
    """Schema changes, a data operation that writes rows, a cleanup that deletes some, then one
    that fails: the whole revision rolls back (transactional DDL on PostgreSQL, SQLite and
    DuckDB). On ClickHouse, which has no transactions, it is compensated instead: the table and
    column are dropped, the reconciled rows deleted and the cleaned-up rows put back."""
    v2 = define({"crop.frames": "2"})
    project.revision("v2", rev_id="0002")
    project.upgrade()
    schema, rows, snapshot = project.database(), counts(project), project.latest_snapshot()
    project.write_revision(
        "0003",
        "0002",
        f"""
        op.add_column("video", sa.Column("note", sa.String(), nullable=True))
        op.create_table("extra", sa.Column("id", sa.Integer(), primary_key=True))
        op.execute("INSERT INTO extra (id) VALUES (1)")
        op.reconcile_features(["crop", "face_detection"], materialization_id=revision)
        op.cleanup_feature("crop")
        {FAILING[failure]}
        """,
        "pass",
    )
    with pytest.raises((CommandError, sa.exc.DBAPIError)):
        project.upgrade()
    assert project.current() == "0002"
    assert project.database() == schema
    assert counts(project) == rows
    assert project.latest_snapshot() == snapshot
    assert stale_uids(project, v2, "crop") == ALL


def test_reconcile_names_an_unknown_feature(project: Project, v1: mx.FeatureGraph, define) -> None:
    define({"crop.frames": "2"})
    project.x("reconcile=crop,nope")
    with pytest.raises(
        CommandError,
        match=r"reconcile: feature\(s\) 'nope' not in the code's feature graph "
        r"\(known: video, crop, face_detection, stt\)",
    ):
        project.revision("typo")


def test_reconcile_a_feature_that_did_not_change(
    project: Project, v1: mx.FeatureGraph, define, caplog: pytest.LogCaptureFixture
) -> None:
    v2 = define({"crop.frames": "2"})
    project.x("reconcile=crop,stt")
    caplog.set_level(logging.INFO, logger=PROGRESS)
    path = project.revision("stt did not change", rev_id="0002")
    assert op_calls(path, "upgrade")[1] == (
        "reconcile_features",
        [{"crop": v2.feature_version("crop")}],
        {"materialization_id": REVISION},
    )
    assert any("the version of feature 'stt' did not change" in m for m in caplog.messages)


def revert_v2(v2: mx.FeatureGraph) -> tuple[str, list[Any], dict[str, Any]]:
    """The downgrade's graph operation of the crop.frames=2 revision, as ``op_calls`` reads it."""
    versions = {key: v2.feature_version(key) for key in ("crop", "face_detection")}
    return ("revert_graph_changes", [versions], {"snapshot_version": v2.snapshot_version})


def block(text: str, first: str, last: str) -> str:
    """The lines of ``text`` from the one starting with ``first`` to the next equal to ``last``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(first))
    end = next(i for i in range(start, len(lines)) if lines[i] == last)
    return "\n".join(lines[start : end + 1])


SNIPPETS = REPO / "docs" / "snippets" / "alembic"


def same_revision(generated: Path, snippet: Path) -> None:
    """The generated revision is the snippet (creation date aside); ``REGENERATE_SNIPPETS=1``
    rewrites the snippet instead, to be reviewed in the diff."""
    text = re.sub(
        r"^Create Date: .*$",
        "Create Date: 2026-12-01 00:00:00",
        revision_text(generated),
        flags=re.M,
    )
    if os.environ.get("REGENERATE_SNIPPETS"):
        snippet.write_text(text, encoding="utf-8")
    assert text == snippet.read_text(encoding="utf-8"), snippet


@pytest.mark.duckdb
def test_the_walkthrough_shows_what_autogenerate_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, define
) -> None:
    """docs/alembic.md includes the two revisions of its walkthrough from docs/snippets/alembic:
    they are what autogenerate writes (after the ruff format hook of alembic.ini)."""
    project = make_project(tmp_path, f"duckdb:///{tmp_path / 'docs.duckdb'}", "duckdb", monkeypatch)
    define()
    project.revision("example feature graph", rev_id="0001")
    project.upgrade()
    define({"crop.frames": "2"})

    proposed = project.revision("crop frames 2", rev_id="0002")
    ruff_format(proposed)
    same_revision(proposed, SNIPPETS / "0002_crop_frames_2_proposed.py")

    proposed.unlink()
    project.x("reconcile=crop,face_detection")
    reconciled = project.revision("crop frames 2", rev_id="0002")
    ruff_format(reconciled)
    same_revision(reconciled, SNIPPETS / "0002_crop_frames_2_reconciled.py")
    docs = (REPO / "docs" / "alembic.md").read_text(encoding="utf-8")
    for name in ("0002_crop_frames_2_proposed.py", "0002_crop_frames_2_reconciled.py"):
        assert f'--8<-- "docs/snippets/alembic/{name}"' in docs


FEATURES_WITH_A_KNOB = """
import os

from example_app.pipeline import define_video_pipeline

Video, Crop, FaceDetection, Stt = define_video_pipeline(
    {"crop.frames": os.environ.get("CROP_FRAMES", "1")}
)
"""


@pytest.mark.duckdb
def test_the_alembic_command_line(tmp_path: Path, define) -> None:
    """The walkthrough with the ``alembic`` program itself and the repository's alembic.ini:
    ``-x reconcile=...`` on the command line, progress on the console, then downgrade."""
    shutil.copy(REPO / "alembic.ini", tmp_path / "alembic.ini")
    shutil.copytree(
        REPO / "migrations", tmp_path / "migrations", ignore=shutil.ignore_patterns("__pycache__")
    )
    # alembic.ini puts its own folder first on sys.path: this example_app wins over the repo's
    (tmp_path / "example_app").mkdir()
    (tmp_path / "example_app" / "__init__.py").write_text("", encoding="utf-8")
    shutil.copy(REPO / "example_app" / "pipeline.py", tmp_path / "example_app" / "pipeline.py")
    (tmp_path / "example_app" / "features.py").write_text(FEATURES_WITH_A_KNOB, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "METAXY_ORM_DATABASE_URL"}

    def alembic(*args: str, crop_frames: str = "1") -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "alembic", *args],
            cwd=tmp_path,
            env={**env, "CROP_FRAMES": crop_frames},
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    alembic("upgrade", "head")
    project = Project(None, tmp_path, f"duckdb:///{tmp_path / 'example.duckdb'}", "duckdb")  # type: ignore[arg-type]
    compute(project, define(), root_samples())

    alembic(
        "-x", "reconcile=crop,face_detection",
        "revision", "--autogenerate", "-m", "crop frames 2", "--rev-id", "0002",
        crop_frames="2",
    )  # fmt: skip
    (path,) = (tmp_path / "migrations" / "versions").glob("0002_*.py")
    assert names(path, "upgrade") == ["record_graph_changes", "reconcile_features"]
    result = alembic("upgrade", "head", crop_frames="2")
    for key in ("crop", "face_detection"):
        step = "[1/2]" if key == "crop" else "[2/2]"
        assert re.search(
            rf"^INFO  \[alembic\.metaxy_orm\] {re.escape(step)} reconcile {key}: {N} row\(s\) "
            r"written in [\d.]+ s$",
            result.stderr,
            flags=re.M,
        ), result.stderr
    v2 = define({"crop.frames": "2"})
    assert resolve(project, v2, "crop").is_empty()
    assert resolve(project, v2, "face_detection").is_empty()

    alembic("downgrade", "-1", crop_frames="2")
    assert stale_uids(project, v2, "crop") == ALL
    assert stale_uids(project, v2, "face_detection") == ALL
