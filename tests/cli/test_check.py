"""``mxo check``: what is missing in the database, and exactly what to run."""

from __future__ import annotations

import json

import sqlalchemy as sa

from .conftest import Mxo, fill


def test_empty_database_lists_every_table_and_the_snapshot(mxo: Mxo) -> None:
    result = mxo("check", "--json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["ok"] is False
    kinds = [(p["kind"], p["feature"]) for p in document["problems"]]
    assert kinds == [
        ("table", "video"),
        ("table", "crop"),
        ("table", "face_detection"),
        ("table", "stt"),
        ("snapshot", None),
    ]
    assert "SQLModel.metadata.create_all" in document["problems"][0]["fix"]
    assert document["problems"][-1]["fix"] == "run `mxo graph push`"
    text = mxo("check").stdout
    assert "FAIL  feature 'video': table 'video' does not exist" in text
    assert "5 problem(s)" in text


def test_database_in_step_with_the_code(mxo: Mxo, database_url: str) -> None:
    fill(database_url, n=2)
    assert mxo("graph", "push").exit_code == 0
    result = mxo("check")
    assert result.exit_code == 0, result.output
    assert "database matches the code" in result.stdout
    document = json.loads(mxo("check", "--json").stdout)
    assert document == {**document, "ok": True, "problems": []}
    assert len(document["passed"]) == 5


def test_missing_column_and_old_snapshot_with_alembic(mxo: Mxo, database_url: str) -> None:
    fill(database_url, n=2)
    assert mxo("graph", "push").exit_code == 0
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE stt"))
        conn.execute(sa.text("CREATE TABLE stt (sample_uid VARCHAR, metaxy_provenance VARCHAR)"))
        conn.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
    engine.dispose()
    result = mxo("check", "--json", version="audio_v2")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert [p["kind"] for p in problems] == ["columns", "snapshot"]
    assert "transcript" in problems[0]["message"]
    assert "metaxy_provenance__transcription" in problems[0]["message"]
    assert problems[0]["fix"].startswith("run `alembic upgrade head`")
    assert "video" in problems[1]["message"]
    assert "alembic revision --autogenerate" in problems[1]["fix"]


def test_unreachable_database_is_reported_without_a_traceback(project_dir: object) -> None:
    from pathlib import Path

    from .conftest import invoke

    assert isinstance(project_dir, Path)
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
    result = invoke(
        ["--config", str(project_dir / "pyproject.toml"), "--database-url", url, "check"]
    )
    assert result.exit_code == 1
    assert "cannot use the database" in result.stdout
    assert "Traceback" not in result.output
