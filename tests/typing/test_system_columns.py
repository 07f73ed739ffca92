"""The system columns of every feature are visible to mypy and pyright on the user's class.

A small user module is type-checked as a user would: mypy strict (with and without pydantic's
mypy plugin) and pyright (``basedpyright``, which ships its own Node.js). Each row-level system
column must be revealed with its Python type on the class and on an instance, a misspelled
one must be an error, and building a model without the system columns must type-check. The
module is generated from :func:`metaxy_orm.columns.system_columns`, so a column added there
without its declaration on ``Feature`` fails here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from mypy import api as mypy_api

import metaxy_orm as mx
from metaxy_orm.columns import system_columns

#: The checkout under test: type checkers must read this metaxy_orm, not another install.
REPOSITORY = Path(mx.__file__).resolve().parents[1]

#: Row-level system column -> its Python type and whether it may hold None.
EXPECTED = {c.name: (c.python_type, c.nullable) for c in system_columns(())}

PREAMBLE = """\
from datetime import datetime

import metaxy_orm as mx


class Video(
    mx.Feature,
    table=True,
    spec=mx.FeatureSpec(key="video", id_columns=("sample_uid",), fields=["audio"]),
):
    sample_uid: str
    path: str


video = Video(sample_uid="v1", path="/videos/v1.mp4")  # no system column needed
written_at: datetime = video.metaxy_created_at
"""

#: The misspelled system columns, on the instance and on the class.
MISSPELLED = ["video.metaxy_create_at", "Video.metaxy_provenanc"]


def user_module(folder: Path) -> tuple[Path, dict[int, str]]:
    """The module, and line number -> expression revealed or misspelled on that line."""
    lines = PREAMBLE.splitlines()
    checked: dict[int, str] = {}
    for name in EXPECTED:
        for owner in ("video", "Video"):
            lines.append(f"reveal_type({owner}.{name})")
            checked[len(lines)] = f"{owner}.{name}"
    for expression in MISSPELLED:
        lines.append(f"print({expression})")
        checked[len(lines)] = expression
    path = folder / "user_pipeline.py"
    path.write_text("\n".join(lines) + "\n")
    return path, checked


def expected_type(expression: str, *, qualified: bool) -> str:
    """The type a checker must reveal; mypy qualifies non-builtin classes, pyright does not."""
    python_type, nullable = EXPECTED[expression.split(".", 1)[1]]
    name = python_type.__name__
    if qualified and python_type.__module__ != "builtins":
        name = f"{python_type.__module__}.{name}"
    return name + (" | None" if nullable else "")


@pytest.mark.parametrize("pydantic_plugin", [False, True], ids=["plain", "pydantic-plugin"])
def test_mypy_sees_the_system_columns(
    tmp_path: Path, pytestconfig: pytest.Config, pydantic_plugin: bool
) -> None:
    module, checked = user_module(tmp_path)
    config = tmp_path / "mypy.ini"
    plugins = "plugins = pydantic.mypy\n" if pydantic_plugin else ""
    config.write_text(f"[mypy]\nstrict = true\nmypy_path = {REPOSITORY}\n{plugins}")
    assert pytestconfig.cache is not None
    cache = pytestconfig.cache.mkdir(f"mypy-typing-{int(pydantic_plugin)}")
    stdout, stderr, _ = mypy_api.run(
        ["--config-file", str(config), "--cache-dir", str(cache), str(module)]
    )
    assert not stderr
    found: dict[int, list[str]] = {}
    for line, message in re.findall(r"user_pipeline\.py:(\d+): (.*)", stdout):
        found.setdefault(int(line), []).append(message)
    for line, expression in checked.items():
        messages = found.pop(line, [])
        if expression in MISSPELLED:
            assert len(messages) == 1, (expression, messages)
            assert "has no attribute" in messages[0], messages
            assert "[attr-defined]" in messages[0], messages
        else:
            revealed = f'note: Revealed type is "{expected_type(expression, qualified=True)}"'
            assert messages == [revealed], (expression, stdout)
    assert not found, f"unexpected mypy messages: {found}"
    assert f"Found {len(MISSPELLED)} errors in 1 file" in stdout


def pyright_command() -> str:
    """basedpyright (a dev dependency) next to this Python, or on PATH."""
    beside = Path(sys.executable).parent / "basedpyright"
    found = str(beside) if beside.exists() else shutil.which("basedpyright")
    if found is None:
        message = "basedpyright (dev dependency: pip install --group dev)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must provide this: {message}")
        pytest.skip(message)
    return found


def test_pyright_sees_the_system_columns(tmp_path: Path) -> None:
    import subprocess

    module, checked = user_module(tmp_path)
    (tmp_path / "pyrightconfig.json").write_text(
        json.dumps(
            {
                "typeCheckingMode": "standard",
                "pythonVersion": "3.11",
                "extraPaths": [str(REPOSITORY)],
                "reportUnusedExpression": False,
            }
        )
    )
    run = subprocess.run(
        [pyright_command(), "--outputjson", "--pythonpath", sys.executable, str(module)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(run.stdout)
    found: dict[int, list[tuple[str, str]]] = {}
    for diagnostic in report["generalDiagnostics"]:
        line = diagnostic["range"]["start"]["line"] + 1  # pyright counts from 0
        found.setdefault(line, []).append((diagnostic["severity"], diagnostic["message"]))
    for line, expression in checked.items():
        messages = found.pop(line, [])
        if expression in MISSPELLED:
            assert len(messages) == 1, (expression, messages)
            severity, message = messages[0]
            assert severity == "error", messages
            assert "Cannot access attribute" in message, messages
        else:
            revealed = f'Type of "{expression}" is "{expected_type(expression, qualified=False)}"'
            assert messages == [("information", revealed)], (expression, run.stdout)
    assert not found, f"unexpected pyright messages: {found}"


def test_the_declarations_are_for_type_checkers_only() -> None:
    """At run time the columns come from the metaclass, per feature table, as before."""

    class Shared(mx.Feature):  # an abstract base: no table, no system columns
        note: str | None = None

    class Clip(
        Shared,
        table=True,
        spec=mx.FeatureSpec(key="clip", id_columns=("clip_uid",), fields=["audio"]),
    ):
        clip_uid: str

    for name in EXPECTED:
        assert name not in mx.Feature.model_fields
        assert name not in Shared.model_fields
        assert name in Clip.model_fields
    table = Clip.__table__  # type: ignore[attr-defined]
    assert {c.name: c.nullable for c in system_columns(()) if c.name in EXPECTED} == {
        name: table.c[name].nullable for name in EXPECTED
    }
