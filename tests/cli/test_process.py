"""``python -m metaxy_orm`` as a real process: entry point, pipes, terminals, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import Mxo, fill

REPO = Path(__file__).resolve().parents[2]


def run(
    args: list[str], cwd: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR"}
        and not k.startswith("METAXY_ORM_")
    }
    env["PYTHONPATH"] = str(REPO)
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "metaxy_orm", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_status_gate_in_a_real_process(mxo: Mxo, project_dir: Path, database_url: str) -> None:
    fill(database_url, n=3, edited=frozenset({2}))
    # settings from pyproject.toml (found from the working directory) and the environment
    env = {"METAXY_ORM_DATABASE_URL": database_url}
    done = run(["status", "--json", "--assert-in-sync"], project_dir, env)
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    assert [f["stale"] for f in document["features"]] == [None, 1, 0, 1]
    assert "not in sync" in done.stderr
    piped = run(["status"], project_dir, env)
    assert piped.returncode == 0, piped.stderr
    assert "\x1b[" not in piped.stdout
    assert piped.stdout == mxo("status").stdout  # the same plain text as in-process
    coloured = run(["status"], project_dir, {**env, "FORCE_COLOR": "1"})
    assert "\x1b[" in coloured.stdout  # rich styles on a terminal


def test_missing_configuration_in_a_real_process(tmp_path: Path) -> None:
    done = run(["graph", "render"], tmp_path)
    assert done.returncode == 2
    assert "METAXY_ORM_MODULES" in done.stderr
    assert "Traceback" not in done.stderr


def test_repository_configuration_points_at_the_example() -> None:
    done = run(["list", "--json"], REPO)
    assert done.returncode == 0, done.stderr
    assert [f["key"] for f in json.loads(done.stdout)["features"]] == [
        "video",
        "crop",
        "face_detection",
        "stt",
    ]
    assert run(["--version"], REPO).stdout.startswith("mxo (metaxy-orm) ")
