"""The wheel as a new user gets it: built, installed into a fresh venv, ``alembic init -t metaxy``.

The venv is new, and metaxy-orm and Alembic are installed into it from wheels (ours built here,
Alembic's from the package index or pip's cache); the other dependencies (SQLAlchemy, SQLModel,
Polars, DuckDB...) are not downloaded again: a ``.pth`` file puts the test venv's
``site-packages`` after the new venv's own. Python's ``importlib.metadata`` lists one
distribution per name, the first found, so the entry points Alembic loads are the wheel's, and
the test asserts that every module it uses comes from the new venv, not from the source tree.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import alembic
import pytest

REPO = Path(__file__).resolve().parents[2]
RUFF = Path(sys.executable).with_name("ruff")

FEATURES = '''
"""A small feature module: a root feature and one computed from it."""

import metaxy_orm as mx

CLIP = mx.FeatureSpec(
    key="clip", id_columns=["sample_uid"], fields=[mx.FieldSpec(key="audio", code_version="1")]
)
TRANSCRIPT = mx.FeatureSpec(
    key="transcript",
    id_columns=["sample_uid"],
    deps=[mx.FeatureDep(feature="clip")],
    fields=[mx.FieldSpec(key="text", code_version="1")],
)


class Clip(mx.Feature, table=True, spec=CLIP):
    sample_uid: str
    path: str | None = None


class Transcript(mx.Feature, table=True, spec=TRANSCRIPT):
    sample_uid: str
    text: str | None = None
'''

PYPROJECT = """
[project]
name = "newcomer"
version = "0"

[tool.metaxy-orm]
modules = ["features"]
database_url = "duckdb:///newcomer.duckdb"

[tool.ruff]
line-length = 100
target-version = "py311"

[tool.ruff.lint]
select = ["E", "F", "W", "I", "UP", "B", "SIM", "RUF", "PT", "N"]
"""


def run(*command: str | Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.duckdb
def test_wheel_in_a_fresh_venv_alembic_init_template(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("METAXY_ORM_", "PYTHON", "VIRTUAL_ENV"))
    }
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    dist = tmp_path / "dist"
    run(*pip, "wheel", "--no-deps", "-w", dist, REPO, cwd=tmp_path, env=env)
    run(
        *pip,
        "download",
        "--no-deps",
        "-d",
        dist,
        f"alembic=={alembic.__version__}",
        cwd=tmp_path,
        env=env,
    )
    (wheel,) = dist.glob("metaxy_orm-*.whl")

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path, env=env)
    python = venv / "bin" / "python"
    site = Path(
        run(
            python,
            "-c",
            "import sysconfig; print(sysconfig.get_path('purelib'))",
            cwd=tmp_path,
            env=env,
        ).stdout.strip()
    )
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run(
        *pip,
        "--python",
        python,
        "install",
        "--no-deps",
        "--no-index",
        "--ignore-installed",
        wheel,
        *dist.glob("alembic-*.whl"),
        cwd=tmp_path,
        env=env,
    )

    project = tmp_path / "newcomer"
    project.mkdir()
    where = run(
        python,
        "-c",
        "import alembic, alembic_ext, metaxy_orm; "
        "print(metaxy_orm.__file__, alembic_ext.__file__, alembic.__file__, sep='\\n')",
        cwd=project,
        env=env,
    )
    for path in where.stdout.split():
        assert Path(path).is_relative_to(site), where.stdout

    (project / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (project / "features.py").write_text(FEATURES, encoding="utf-8")
    alembic_ = venv / "bin" / "alembic"
    assert "metaxy - metaxy-orm" in run(alembic_, "list_templates", cwd=project, env=env).stdout
    run(alembic_, "init", "-t", "metaxy", "migrations", cwd=project, env=env)
    assert {p.name for p in (project / "migrations").iterdir()} >= {
        "env.py",
        "script.py.mako",
        "versions",
        "README",
    }
    created = run(alembic_, "revision", "--autogenerate", "-m", "first", cwd=project, env=env)
    assert "Detected removed table" not in created.stderr
    assert "Detected graph snapshot change" in created.stderr
    (revision,) = (project / "migrations" / "versions").glob("*_first.py")
    text = revision.read_text(encoding="utf-8")
    assert "from alembic_ext import op as mxop" in text
    assert "mxop.record_graph" in text
    run(alembic_, "upgrade", "head", cwd=project, env=env)
    checked = run(alembic_, "check", cwd=project, env=env)
    assert "No new upgrade operations detected." in checked.stdout
    assert "Detected" not in checked.stderr, checked.stderr

    lint = subprocess.run(
        [RUFF, "check", "--no-cache", revision], cwd=project, capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    formatted = subprocess.run(
        [RUFF, "format", "--check", "--no-cache", revision],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert formatted.returncode == 0, formatted.stdout  # the template's hook formatted it


def test_the_example_migrations_use_the_template_revision_script() -> None:
    """The repository's migrations/script.py.mako is the template's, so the example's revisions
    (and the Alembic tests, which copy it) are what a new project's revisions look like."""
    from alembic_ext.templates import METAXY_TEMPLATE

    template = (METAXY_TEMPLATE / "script.py.mako").read_text(encoding="utf-8")
    assert (REPO / "migrations" / "script.py.mako").read_text(encoding="utf-8") == template
