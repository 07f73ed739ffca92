"""Every ```python block of the docs (and of the README) runs, page by page, as written.

A page is one program: its blocks run in order in one namespace, so a later block uses what an
earlier one defined, as a reader following the page would. Each page runs in a fresh temporary
working directory, with ``METAXY_ORM_DATABASE_URL`` naming a DuckDB file there and in an
isolated feature graph, so that pages never see each other's features or data. A failure points
at the page and line of the block (``docs/store.md:42``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from metaxy_orm.testing import isolated_graph
from tests.docs.markdown import ROOT, pages, python_blocks

PAGES = [page for page in pages() if python_blocks(page)]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_page_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("METAXY_ORM_DATABASE_URL", f"duckdb:///{tmp_path / 'metaxy.duckdb'}")
    monkeypatch.syspath_prepend(str(ROOT))  # the pages import example_app from the repository
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    with isolated_graph():
        for block in python_blocks(page):
            # padded so that tracebacks give the line in the page
            code = compile("\n" * block.line + block.source, str(page), "exec")
            try:
                exec(code, namespace)
            except Exception as exc:
                raise AssertionError(f"the block at {block.where} failed: {exc!r}") from exc
