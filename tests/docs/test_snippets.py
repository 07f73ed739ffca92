"""Every ```python block of the docs (and of the README) runs, page by page, as written.

A page is one program: its blocks run in order in one namespace, so a later block uses what an
earlier one defined, as a reader following the page would. Each page runs in a fresh temporary
working directory, with ``METAXY_ORM_DATABASE_URL`` naming a DuckDB file there and in an
isolated feature graph, so that pages never see each other's features or data. A failure points
at the page and line of the block (``docs/store.md:42``). ```toml blocks must parse and name
only known settings. (```console commands: ``test_commands.py``; included files and the demo's
output: ``test_commands.py`` and ``test_quickstart.py``.)
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from metaxy_orm.config import ENVIRONMENT
from metaxy_orm.testing import isolated_graph

from .markdown import ROOT, blocks, pages, python_blocks, run

PAGES = [
    pytest.param(page, id=str(page.relative_to(ROOT))) for page in pages() if python_blocks(page)
]


@pytest.mark.parametrize("page", PAGES)
def test_page_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("METAXY_ORM_DATABASE_URL", f"duckdb:///{tmp_path / 'metaxy.duckdb'}")
    monkeypatch.syspath_prepend(str(ROOT))  # the pages import example_app from the repository
    with isolated_graph():
        run(page)


TOML_PAGES = [page for page in pages() if any(b.lang == "toml" for b in blocks(page))]


@pytest.mark.parametrize("page", TOML_PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_toml_blocks_are_valid_configuration(page: Path) -> None:
    """A ```toml block parses, and its ``[tool.metaxy-orm]`` names only known settings."""
    for block in blocks(page):
        if block.lang != "toml":
            continue
        table = tomllib.loads(block.source).get("tool", {}).get("metaxy-orm", {})
        unknown = set(table) - set(ENVIRONMENT)
        assert not unknown, f"{block.where}: unknown setting(s) {sorted(unknown)}"
