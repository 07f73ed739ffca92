"""How the extension plugs into Alembic, and the paths around the main one: the entry point on
its own, column types from other modules, offline SQL scripts, and a newcomer's first run."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
from alembic_helpers import REPO, Project, function_body, plain, revision_text, ruff_check
from custom_types import Slug
from sqlmodel import Field

import metaxy_orm as mx
from metaxy_orm.snapshots import SNAPSHOTS_TABLE, graph_snapshot

EXAMPLE_TABLES = {"video", "crop", "face_detection", "stt", SNAPSHOTS_TABLE, "alembic_version"}

#: docs/alembic.md shows it: an env.py that does not import alembic_ext, it only names the plugin.
ENV_WITH_THE_PLUGIN_ENTRY_ONLY = (
    REPO / "docs" / "snippets" / "alembic" / "env_plugin_only.py"
).read_text(encoding="utf-8")


PLUGIN_PROBE = """
import json, sys
from alembic.ddl import impl

def duckdb_impl():
    return impl._impls.get("duckdb", type(None)).__name__

first = sys.argv[1]
if first == "metaxy_orm":
    import metaxy_orm
import alembic
from alembic.operations import Operations
from alembic.runtime.plugins import _all_plugins
state = {
    "plugin": "metaxy_orm" in _all_plugins,
    "ops": [hasattr(Operations, n) for n in (
        "record_graph_changes",
        "revert_graph_changes",
        "record_graph_snapshot",
        "remove_graph_snapshot",
        "reconcile_features",
        "delete_materialization",
        "backfill_feature",
        "cleanup_feature",
        "cannot_undo_cleanup",
    )],
    "heavy": [m for m in ("metaxy_orm", "sqlmodel", "pydantic", "polars") if m in sys.modules],
    "duckdb": duckdb_impl(),
}
import metaxy_orm
state["duckdb then"] = duckdb_impl()
print(json.dumps(state))
"""


@pytest.mark.parametrize("first", ["alembic", "metaxy_orm"])
def test_alembic_loads_the_plugin_cheaply(first: str) -> None:
    """Alembic imports the entry point while importing itself: it registers our operations
    without pulling in metaxy_orm, SQLModel or pydantic. The Alembic implementations of the
    backends (DuckDB's) live in metaxy_orm: they are registered as soon as both are imported,
    whichever comes first."""
    result = subprocess.run(
        [sys.executable, "-c", PLUGIN_PROBE, first],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    state = json.loads(result.stdout)
    assert state["plugin"] is True
    assert state["ops"] == [True] * 9
    if first == "alembic":
        assert state["heavy"] == []
        assert state["duckdb"] == "NoneType"  # not before metaxy_orm is imported
    else:
        assert state["duckdb"] == "DuckDBImpl"
    assert state["duckdb then"] == "DuckDBImpl"


def test_the_plugin_entry_alone_is_enough(project: Project, define) -> None:
    """``autogenerate_plugins=[..., "metaxy_orm"]`` without alembic_ext.configure(): snapshots are
    compared, the snapshots table is not dropped by the next autogenerate, types are imported."""
    (project.migrations / "env.py").write_text(ENV_WITH_THE_PLUGIN_ENTRY_ONLY, encoding="utf-8")
    graph = define()
    path = project.revision("example graph")
    assert "mxop.record_graph_changes(" in revision_text(path)
    assert "import sqlmodel.sql.sqltypes\n" in revision_text(path)
    assert ruff_check(path).returncode == 0, ruff_check(path).stdout
    project.upgrade()
    assert project.database().tables == EXAMPLE_TABLES
    assert project.latest_snapshot() == graph_snapshot(graph)
    project.check()
    empty = project.revision("nothing")
    assert "drop_table" not in function_body(empty, "upgrade")


def test_column_types_from_other_modules_are_imported(project: Project, define) -> None:
    def factory() -> None:
        class Tag(
            mx.Feature, table=True, spec=mx.FeatureSpec(key="tag", id_columns=["sample_uid"])
        ):
            sample_uid: str
            slug: str | None = Field(default=None, sa_type=Slug)

    define(factory=factory)
    path = project.revision("tag")
    text = revision_text(path)
    assert "sa.Column('slug', custom_types.Slug(), nullable=True)" in text
    assert "\nimport custom_types\n" in text
    result = ruff_check(path)
    assert result.returncode == 0, result.stdout
    project.upgrade()
    project.check()


def test_offline_sql_scripts(project: Project, define) -> None:
    """``alembic upgrade --sql`` writes the snapshot as one INSERT ... SELECT; running the
    scripts gives the same database as running the revisions online."""
    graph = define()
    project.revision("example graph", rev_id="0001")
    with project.connect() as connection:  # autogenerate left an empty version table behind
        connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        connection.commit()
    assert project.database().tables == set()

    script = project.offline("head")
    assert f"INSERT INTO {SNAPSHOTS_TABLE} (recording, snapshot_version" in plain(script)
    project.run_sql_script(script)
    assert project.database().tables == EXAMPLE_TABLES
    assert project.latest_snapshot() == graph_snapshot(graph)
    project.check()

    script = project.offline("0001:base", downgrade=True)
    assert f"DELETE FROM {SNAPSHOTS_TABLE} WHERE" in plain(script)
    # Alembic starts every offline script with CREATE TABLE alembic_version; it exists here
    statements = script.split(";\n\n")
    project.run_sql_script(
        ";\n\n".join(
            s for s in statements if not plain(s).startswith("CREATE TABLE alembic_version")
        )
    )
    assert project.database().tables == {"alembic_version"}


@pytest.mark.duckdb
def test_a_newcomer_runs_alembic_upgrade_head(tmp_path: Path) -> None:
    """The repository's alembic.ini and migrations, as they are: ``alembic upgrade head`` on
    embedded DuckDB with nothing set up, then ``alembic check`` passes."""
    shutil.copy(REPO / "alembic.ini", tmp_path / "alembic.ini")
    shutil.copytree(
        REPO / "migrations", tmp_path / "migrations", ignore=shutil.ignore_patterns("__pycache__")
    )
    env = {k: v for k, v in os.environ.items() if k != "METAXY_ORM_DATABASE_URL"}

    def alembic(*args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "alembic", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    alembic("upgrade", "head")
    assert "No new upgrade operations detected." in alembic("check").stdout
    with duckdb.connect(str(tmp_path / "example.duckdb")) as connection:
        tables = {row[0] for row in connection.execute("SHOW TABLES").fetchall()}
        recorded = connection.execute(
            f"SELECT count(DISTINCT recording), count(*) FROM {SNAPSHOTS_TABLE}"
        ).fetchone()
    assert tables == EXAMPLE_TABLES
    assert recorded == (1, 4)
    alembic("downgrade", "base")
    with duckdb.connect(str(tmp_path / "example.duckdb")) as connection:
        assert connection.execute("SHOW TABLES").fetchall() == [("alembic_version",)]


INIT_FEATURES = """
import metaxy_orm as mx


class Clip(mx.Feature, table=True, spec=mx.FeatureSpec(key="clip", id_columns=["sample_uid"])):
    sample_uid: str
"""


@pytest.mark.duckdb
def test_alembic_init_with_the_template_of_a_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, define
) -> None:
    """``alembic init -t <absolute folder>`` (a source checkout, where the template is not in
    Alembic's folder): the env.py it writes reads metaxy-orm's settings from pyproject.toml and
    the environment, and revision, upgrade and check work. (The wheel test runs
    ``alembic init -t metaxy`` from an installed wheel.)"""
    from alembic import command
    from alembic.config import Config

    from alembic_ext.templates import METAXY_TEMPLATE

    define(factory=lambda: None)  # a fresh graph and metadata, which the feature module fills
    # env.py applies alembic.ini's logging configuration (fileConfig), which disables the
    # loggers it does not name: put the test process's logging back afterwards
    loggers = [
        lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    for logger in [*loggers, logging.root]:
        monkeypatch.setattr(logger, "disabled", logger.disabled)
        monkeypatch.setattr(logger, "level", logger.level)
        monkeypatch.setattr(logger, "handlers", list(logger.handlers))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "init_features", raising=False)
    (tmp_path / "init_features.py").write_text(INIT_FEATURES, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.metaxy-orm]\nmodules = ["init_features"]\n', encoding="utf-8"
    )
    monkeypatch.setenv("METAXY_ORM_DATABASE_URL", f"duckdb:///{tmp_path / 'init.duckdb'}")
    config = Config(str(tmp_path / "alembic.ini"))
    command.init(config, str(tmp_path / "migrations"), template=str(METAXY_TEMPLATE))
    env = (tmp_path / "migrations" / "env.py").read_text(encoding="utf-8")
    assert env == (METAXY_TEMPLATE / "env.py").read_text(encoding="utf-8")
    config = Config(str(tmp_path / "alembic.ini"))
    assert config.get_section_option("post_write_hooks", "ruff_format.type") == (
        "metaxy_orm_ruff_format"
    )
    script = command.revision(config, message="clip", autogenerate=True, rev_id="c001")
    assert script is not None
    assert not isinstance(script, list)
    assert "mxop.record_graph_changes(" in revision_text(Path(script.path))
    assert ruff_check(Path(script.path)).returncode == 0
    command.upgrade(config, "head")
    command.check(config)
    monkeypatch.delitem(sys.modules, "init_features", raising=False)
