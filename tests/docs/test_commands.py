"""Every ``$ command`` of a ```console block of the docs is one that the project runs or tests.

Commands are not all runnable in a test (``alembic upgrade head`` against your database,
``pip install``), so each kind of command is verified the way that fits it:

- ``mxo ...`` (and ``python -m metaxy_orm ...``) is **run**, in-process, on the example pipeline
  in a temporary project with data (the generator of ``docs/cli.md`` builds the same project);
  it must exit with 0 or 1 (1 is a "no" answer, e.g. ``status --assert-in-sync``), never with a
  usage or database error. ``docs/cli.md`` itself is generated from real runs and checked by
  ``tests/cli/test_docs.py``.
- The README's quick-start commands appear word for word, and ``.ci/run`` runs their pinned
  equivalent.
- ``alembic <subcommand>`` must be one the Alembic tests drive (``command.<subcommand>(``).
- Other programs of the repository (the example app, the demo, benchmarks, CI) must exist,
  with the entry point the command names; ``pip install`` may only name existing extras.
- ``VAR=value`` prefixes may only set variables the project reads.

A command matching none of these fails the test: add how it is verified here.
"""

from __future__ import annotations

import importlib
import re
import shlex
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from example_app.cli_docs import _PLAIN, _example_project, _fill
from metaxy_orm._backends import test_databases as backend_databases
from metaxy_orm.cli.app import app
from metaxy_orm.config import ENVIRONMENT
from metaxy_orm.testing import isolated_graph

from .markdown import ROOT, Block, blocks, commands, pages

#: Pages generated from real runs, and the test that keeps each up to date.
GENERATED = {"docs/cli.md": "tests/cli/test_docs.py"}

#: The harness itself (naming a snippet here does not exercise it).
HARNESS = {"markdown.py", "test_commands.py", "test_snippets.py"}

#: Environment variables a command may set: the settings, and those of the test suite.
VARIABLES = {
    *ENVIRONMENT.values(),
    "METAXY_ORM_TEST_BACKENDS",
    "METAXY_ORM_POSTGRES_URL",
    "METAXY_ORM_CLICKHOUSE_URL",
    "CI",
}
_ASSIGNMENT = re.compile(r"^(?P<name>[A-Z_][A-Z0-9_]*)=\S*\s+")
_VENV = re.compile(r"^\.venv/bin/")


def readme_quick_start() -> list[str]:
    """The commands of the README's quick start (its ```bash block), comments left out."""
    bash = [b for b in blocks(ROOT / "README.md") if b.lang == "bash"]
    assert len(bash) == 1, "the README has one ```bash block: the quick start"
    lines = [line.strip() for line in bash[0].source.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def documented() -> list[tuple[Block, str]]:
    return [
        (block, command)
        for page in pages()
        if str(page.relative_to(ROOT)) not in GENERATED
        for block, command in commands(page)
    ]


def _strip_variables(command: str) -> str:
    while match := _ASSIGNMENT.match(command):
        assert match["name"] in VARIABLES, (
            f"`{command}` sets {match['name']}, which metaxy-orm and its tests do not read"
        )
        command = command[match.end() :]
    return command


# -- the checks, one per kind of command --------------------------------------------------------


def check_quick_start(command: str) -> None:
    assert command in readme_quick_start(), (
        f"`{command}` must be one of the README's quick-start commands, word for word"
    )
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert '-e ".[all]" --group dev' in ci
    assert ".venv/bin/python -m pytest" in ci


def check_pip(command: str) -> None:
    extras = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
            "optional-dependencies"
        ]
    )
    named = re.findall(r"(?:metaxy-orm|\.)\[([a-z,]+)\]", command)
    assert named, f"`{command}` installs something else than metaxy-orm"
    for group in named:
        unknown = set(group.split(",")) - extras
        assert not unknown, f"`{command}`: no extra {sorted(unknown)} in pyproject.toml"
    for group in re.findall(r"--group (\w+)", command):
        assert f"\n{group} = [" in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def check_alembic(command: str) -> None:
    words = shlex.split(command)[1:]
    while words and words[0].startswith("-"):  # alembic's own options: -x key=value, -c file
        words = words[2:] if words[0] in {"-x", "-c", "--config", "-n", "--name"} else words[1:]
    assert words, f"`{command}` names no Alembic command"
    tests = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("*.py"))
    assert f"command.{words[0]}(" in tests, (
        f"`{command}`: no test runs `alembic {words[0]}` (command.{words[0]}(...))"
    )


def check_module(command: str) -> None:
    """``python -m pkg.mod`` / ``uvicorn pkg.mod:attr``: the module and its entry point exist."""
    if match := re.match(r"^python3? -m (?P<module>[\w.]+)", command):
        module = importlib.import_module(match["module"])
        assert callable(getattr(module, "main", None)) or match["module"] in {"pytest"}, (
            f"`{command}`: {match['module']} has no main()"
        )
        return
    match = re.match(r"^uvicorn (?P<module>[\w.]+):(?P<attr>\w+)", command)
    assert match, command
    module = importlib.import_module(match["module"])
    # example_app.web builds `app` on first access (module __getattr__), from the settings
    assert hasattr(module, "__getattr__") or hasattr(module, match["attr"])


def check_pytest(command: str) -> None:
    for names in re.findall(r"--backends[ =](\S+)", command):
        unknown = set(names.split(",")) - set(backend_databases())
        assert not unknown, f"`{command}`: unknown backends {sorted(unknown)}"


def check_file(command: str) -> None:
    script = next(word for word in shlex.split(command)[1:] if not word.startswith("-"))
    assert (ROOT / script).is_file(), f"`{command}`: no file {script} in the repository"


def check_mkdocs(command: str) -> None:
    assert (ROOT / "mkdocs.yml").is_file()
    assert "mkdocs build --strict" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def check_mxo(command: str) -> None:
    """Run it on the example pipeline, in a temporary project with data."""
    args = shlex.split(re.sub(r"^(mxo|python3? -m metaxy_orm)\s*", "", command))
    with _example_project() as (folder, url):
        _fill(url)
        base = ["--config", str(folder / "pyproject.toml"), "--database-url", url]
        with isolated_graph():
            result = CliRunner().invoke(app, [*base, *args], env=_PLAIN)
    assert result.exit_code in (0, 1), (
        f"`{command}` exited with {result.exit_code}:\n{result.stdout}{result.stderr}"
    )
    assert result.exception is None or isinstance(result.exception, SystemExit)


CHECKS: list[tuple[re.Pattern[str], Callable[[str], None]]] = [
    (re.compile(r"^(mxo|python3? -m metaxy_orm)\b"), check_mxo),
    (re.compile(r"^python3? -m pytest\b"), check_pytest),
    (re.compile(r"^(pip|python3? -m pip) install "), check_pip),
    (re.compile(r"^alembic\b"), check_alembic),
    (re.compile(r"^python3? -m [\w.]+|^uvicorn \S+"), check_module),
    (re.compile(r"^(bash|python3?) (\.ci|bench)/"), check_file),
    (re.compile(r"^mkdocs (build|serve)\b"), check_mkdocs),
    (re.compile(r"^(ruff|mypy|lint-imports)\b"), lambda command: None),  # CI runs them
]


def _cases() -> Iterator[object]:
    for block, command in documented():
        yield pytest.param(command, id=f"{block.where} {command[:40]}")


@pytest.mark.parametrize("command", list(_cases()))
def test_command_is_verified(command: str) -> None:
    if command in readme_quick_start():
        check_quick_start(command)
        return
    bare = _VENV.sub("", _strip_variables(command))
    for pattern, check in CHECKS:
        if pattern.search(bare):
            check(bare)
            return
    pytest.fail(f"`{command}`: no known way to verify this command; add one to {__name__}")


def test_generated_pages_have_their_test() -> None:
    for page, test in GENERATED.items():
        assert (ROOT / page).is_file()
        assert (ROOT / test).is_file()
        assert page in (ROOT / test).read_text(encoding="utf-8")


def test_quick_start_pages_quote_the_readme() -> None:
    """install.md and quickstart.md show the README's quick-start commands word for word."""
    quick = readme_quick_start()
    assert len(quick) == 2
    for name in ("install.md", "quickstart.md"):
        shown = [c for _, c in commands(ROOT / "docs" / name)]
        assert all(command in shown for command in quick if command.startswith("python3")), name
    assert quick[1] in [c for _, c in commands(ROOT / "docs" / "quickstart.md")]


def test_included_snippets_exist_and_are_tested() -> None:
    """``--8<--`` includes name real files, each exercised by a test outside tests/docs."""
    tests = "".join(
        p.read_text(encoding="utf-8")
        for p in (ROOT / "tests").rglob("*.py")
        if p.name not in HARNESS
    )
    for page in pages():
        for block in blocks(page):
            for include in block.includes:
                assert (ROOT / include).is_file(), f"{block.where}: {include} does not exist"
                assert Path(include).name in tests, f"{block.where}: no test uses {include}"
