"""Helpers for the Alembic tests: a migrations folder per test, driven by ``alembic.command``.

Each test gets a copy of the repository's ``migrations/env.py`` and ``script.py.mako`` (not its
revisions) in ``tmp_path``, configured programmatically, pointed at the test's database through
``METAXY_ORM_DATABASE_URL``. The env.py imports ``example_app.features``; here that module is
replaced by an empty one, and the test defines the features it wants in its own graph with
:func:`define` (the example pipeline by default), so that every test starts from a clean graph
and a clean ``SQLModel.metadata``.

No ``__init__.py`` in this folder, on purpose: a package named ``alembic`` under ``tests/``
would shadow the real Alembic.
"""

from __future__ import annotations

import argparse
import ast
import io
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from metaxy_orm._backends import backend_for, capabilities_for
from metaxy_orm.snapshots import GraphSnapshot, apply_changes, latest_snapshot

REPO = Path(__file__).resolve().parents[2]
RUFF = Path(sys.executable).with_name("ruff")


@dataclass
class Project:
    """A migrations folder and its Alembic config, bound to one database."""

    config: Config
    migrations: Path
    database_url: str
    backend: str

    def revision(self, message: str, *, rev_id: str | None = None) -> Path:
        script = command.revision(self.config, message=message, autogenerate=True, rev_id=rev_id)
        assert script is not None
        assert not isinstance(script, list)
        return Path(script.path)

    def upgrade(self, revision: str = "head") -> None:
        command.upgrade(self.config, revision)

    def downgrade(self, revision: str) -> None:
        command.downgrade(self.config, revision)

    def stamp(self, revision: str) -> None:
        command.stamp(self.config, revision)

    def x(self, *arguments: str) -> None:
        """Set ``-x`` arguments for the next commands, as ``alembic -x key=value`` does."""
        self.config.cmd_opts = argparse.Namespace(x=list(arguments))

    def write_revision(
        self, rev_id: str, down_revision: str | None, upgrade: str, downgrade: str
    ) -> Path:
        """A revision written by hand (bodies of ``upgrade()`` and ``downgrade()``)."""
        path = self.migrations / "versions" / f"{rev_id}_by_hand.py"
        path.write_text(
            HAND_WRITTEN.format(
                rev_id=rev_id,
                down_revision=down_revision,
                upgrade=textwrap.indent(textwrap.dedent(upgrade).strip(), "    "),
                downgrade=textwrap.indent(textwrap.dedent(downgrade).strip(), "    "),
            ),
            encoding="utf-8",
        )
        return path

    def current(self) -> str | None:
        """The revision the database is at (read from ``alembic_version``)."""
        with self.connect() as connection:
            if not sa.inspect(connection).has_table("alembic_version"):
                return None
            return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()

    def offline(self, revisions: str, *, downgrade: bool = False) -> str:
        """The SQL script of ``alembic upgrade <revisions> --sql`` (or downgrade)."""
        buffer = io.StringIO()
        self.config.output_buffer = buffer
        try:
            if downgrade:
                command.downgrade(self.config, revisions, sql=True)
            else:
                command.upgrade(self.config, revisions, sql=True)
        finally:
            self.config.output_buffer = None
        return buffer.getvalue()

    def run_sql_script(self, script: str) -> None:
        """Run an offline (``--sql``) script the way a DBA would: straight on the database."""
        url = sa.make_url(self.database_url)
        if self.backend == "sqlite":
            with sqlite3.connect(str(url.database)) as connection:
                connection.executescript(script)
            connection.close()
        elif self.backend == "duckdb":
            with duckdb.connect(str(url.database)) as connection:
                connection.execute(script)
        else:
            backend = capabilities_for(url.get_backend_name())
            # ClickHouse has no transactions (and clickhouse-sqlalchemy no isolation levels)
            options = {"isolation_level": "AUTOCOMMIT"} if backend.transactional else {}
            engine = sa.create_engine(url, **options)
            with engine.connect() as connection:
                # what metaxy-orm checks first: a server it refuses says so before the script
                backend_for(engine.dialect).prepare(connection)
                connection.exec_driver_sql(script)
            engine.dispose()

    def check(self) -> None:
        command.check(self.config)

    @contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        engine = sa.create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                yield connection
        finally:
            engine.dispose()

    def database(self) -> DatabaseState:
        with self.connect() as connection:
            return describe_database(connection, self.backend)

    def latest_snapshot(self) -> GraphSnapshot | None:
        with self.connect() as connection:
            return latest_snapshot(connection)


HAND_WRITTEN = '''"""written by hand"""

import sqlalchemy as sa
from alembic import op

revision = "{rev_id}"
down_revision = {down_revision!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
'''


@dataclass
class DatabaseState:
    tables: set[str]
    columns: dict[str, list[str]]
    primary_keys: dict[str, list[str]]
    indexes: dict[str, dict[str, list[str]]]


def describe_database(connection: sa.Connection, backend: str) -> DatabaseState:
    """Tables, columns, primary keys and indexes, read from the database's own catalog.

    duckdb-engine reflects neither primary keys nor indexes, so DuckDB's are read from
    ``duckdb_constraints()`` and ``duckdb_indexes()``.
    """
    inspector = sa.inspect(connection)
    tables = set(inspector.get_table_names())
    columns = {t: [c["name"] for c in inspector.get_columns(t)] for t in tables}
    if backend == "duckdb":
        pks = {
            str(t): list(cols)
            for t, cols in connection.exec_driver_sql(
                "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
                "WHERE constraint_type = 'PRIMARY KEY' AND database_name = current_database()"
            )
        }
        indexes: dict[str, dict[str, list[str]]] = {t: {} for t in tables}
        for table, name, expressions in connection.exec_driver_sql(
            "SELECT table_name, index_name, expressions FROM duckdb_indexes() "
            "WHERE database_name = current_database() AND NOT is_primary"
        ):
            indexes[str(table)][str(name)] = [c.strip() for c in str(expressions)[1:-1].split(",")]
    elif backend.startswith("clickhouse"):  # data-skipping indexes, which nothing reflects
        pks = {t: list(inspector.get_pk_constraint(t)["constrained_columns"]) for t in tables}
        indexes = {t: {} for t in tables}
        has_catalog = connection.exec_driver_sql(  # not on 18.16 (which has none to list)
            "SELECT count() FROM system.tables "
            "WHERE database = 'system' AND name = 'data_skipping_indices'"
        ).scalar()
        rows = (
            connection.exec_driver_sql(
                "SELECT table, name, expr FROM system.data_skipping_indices "
                "WHERE database = currentDatabase()"
            )
            if has_catalog
            else []
        )
        for table, name, expression in rows:
            columns_of = [c.strip().strip("`") for c in str(expression).split(",")]
            indexes[str(table)][str(name)] = columns_of
    else:
        pks = {t: list(inspector.get_pk_constraint(t)["constrained_columns"]) for t in tables}
        indexes = {
            t: {
                str(ix["name"]): [str(c) for c in ix["column_names"]]
                for ix in inspector.get_indexes(t)
            }
            for t in tables
        }
    return DatabaseState(tables, columns, {t: pks.get(t, []) for t in tables}, indexes)


def refused_by_design(backend: str) -> bool:
    """Whether the test database refuses the store by design (tests there are xfail already)."""
    from metaxy_orm._backends import test_databases

    return getattr(test_databases()[backend], "refused_by_design", None) is not None


def plain(script: str) -> str:
    """A SQL script without identifier quoting (ClickHouse quotes every name with backticks),
    for assertions about the statements it holds."""
    return script.replace("`", "")


def revision_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def recorded_changes(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The literal changes and the keyword arguments of ``mxop.record_graph_changes(...)`` in a
    revision file."""
    tree = ast.parse(revision_text(path))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "record_graph_changes"
        ):
            changes = ast.literal_eval(node.args[0])
            assert isinstance(changes, dict)
            return changes, {str(k.arg): ast.literal_eval(k.value) for k in node.keywords}
    raise AssertionError(f"no mxop.record_graph_changes(...) in {path}")


def recorded_snapshot_literal(path: Path, base: GraphSnapshot | None = None) -> GraphSnapshot:
    """The snapshot a revision's ``mxop.record_graph_changes(...)`` records on top of ``base``
    (the snapshot before it); its ``snapshot_version`` must be the result's."""
    changes, kwargs = recorded_changes(path)
    result = apply_changes(base, changes, kwargs["hash_truncation_length"])
    assert result["snapshot_version"] == kwargs["snapshot_version"]
    return result


def function_body(path: Path, name: str) -> str:
    """The source of one function (``upgrade`` or ``downgrade``) of a revision file, with the
    comments that end it (operations written commented out are among them)."""
    text = revision_text(path)
    lines = text.splitlines()
    tree = ast.parse(text)
    for i, node in enumerate(tree.body):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            end = tree.body[i + 1].lineno - 1 if i + 1 < len(tree.body) else len(lines)
            return "\n".join(lines[node.lineno - 1 : end]).rstrip()
    raise AssertionError(f"no {name}() in {path}")


def _value(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        return Code(ast.unparse(node))


class Code(str):
    """An argument that is not a literal, as source (``revision``, ``sa.text(...)``)."""


def op_calls(path: Path, function: str) -> list[tuple[str, list[Any], dict[str, Any]]]:
    """The ``op.<name>(...)`` and ``mxop.<name>(...)`` calls a function of a revision runs
    (commented ones are not),
    with their literal arguments (other arguments as :class:`Code`)."""
    tree = ast.parse(revision_text(path))
    (node,) = (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function)
    calls = []
    for statement in node.body:
        call = statement.value if isinstance(statement, ast.Expr) else None
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id in ("op", "mxop")
        ):
            args = [_value(a) for a in call.args]
            kwargs = {str(k.arg): _value(k.value) for k in call.keywords}
            calls.append((call.func.attr, args, kwargs))
    return calls


def ruff_format(path: Path) -> None:
    """What the repository's ``alembic.ini`` post-write hook does to every new revision."""
    subprocess.run(
        [str(RUFF), "format", "--no-cache", "--config", str(REPO / "pyproject.toml"), str(path)],
        check=True,
        capture_output=True,
    )


def ruff_check(path: Path) -> subprocess.CompletedProcess[str]:
    """``ruff check`` with the project's rules, after the post-write hook's ``ruff format``."""
    ruff_format(path)
    return subprocess.run(
        [str(RUFF), "check", "--no-cache", "--config", str(REPO / "pyproject.toml"), str(path)],
        capture_output=True,
        text=True,
    )


def make_project(
    tmp_path: Path, database_url: str, backend: str, monkeypatch: pytest.MonkeyPatch
) -> Project:
    """A copy of the repository's migrations folder, without its revisions."""
    migrations = tmp_path / "migrations"
    (migrations / "versions").mkdir(parents=True)
    for name in ("env.py", "script.py.mako"):
        shutil.copy(REPO / "migrations" / name, migrations / name)
    config = Config()
    config.set_main_option("script_location", str(migrations))
    config.set_main_option("path_separator", "os")
    monkeypatch.setenv("METAXY_ORM_DATABASE_URL", database_url)
    monkeypatch.setitem(
        sys.modules, "example_app.features", types.ModuleType("example_app.features")
    )
    return Project(config, migrations, database_url, backend)
