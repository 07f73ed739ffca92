"""Fixtures of the reliability suite: a canary table, and a worker process to kill.

The suite runs on every backend through the ``backend``/``database_url`` fixtures of
``tests/conftest.py``. Workers are plain Python processes started with this interpreter and
the repository on ``PYTHONPATH``; they print ``ready`` just before the call that gets killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[2]
CANARY_ROWS = [(1, "still here")]


@pytest.fixture
def canary(engine: sa.Engine) -> Iterator[sa.Table]:
    """A table no store call may touch; the test checks it is intact at the end."""
    table = sa.Table(
        "canary",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("note", sa.String),
    )
    table.create(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(table), [{"id": i, "note": n} for i, n in CANARY_ROWS])
    yield table
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.select(table.c.id, table.c.note))]
    assert rows == CANARY_ROWS, "the canary table was changed"


def run_and_kill(script: str, args: list[str], delay: float) -> tuple[bool, str]:
    """Run ``script``; ``delay`` seconds after it prints ``ready``, kill -9 it.

    Returns whether it was killed before it printed ``done``, and its output.
    """
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.strip() == "ready":
            break
    else:
        proc.wait()
        raise AssertionError("worker failed before the write:\n" + "".join(lines))
    time.sleep(delay)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    rest, _ = proc.communicate(timeout=120)
    output = "".join(lines) + rest
    return killed and "done" not in output, output
