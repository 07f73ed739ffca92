"""The code blocks of the documentation, read with markdown-it-py (a CommonMark parser).

mkdocs renders the pages with Python-Markdown and pymdownx.superfences; both agree with
CommonMark on what a fenced block is (fences nested in lists and admonitions included), so the
blocks found here are the blocks the site shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

#: The opening line of a Python-Markdown container whose body is indented by four spaces:
#: an admonition (``!!! note``), a collapsible one (``??? tip``, ``???+ tip``) or a content tab
#: (``=== "DuckDB"``). CommonMark does not know them, so their bodies are unindented first.
CONTAINER = re.compile(r"^(?P<indent>\s*)(?:!!!|\?\?\?\+?|===\+?)\s")

#: A pymdownx.snippets include line: ``--8<-- "docs/snippets/env.py"`` (paths from the root).
INCLUDE = re.compile(r"""^\s*-{1,3}8<-{1,3}\s+["']?(?P<path>[^"'\s]+)["']?\s*$""")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    source: str

    @property
    def where(self) -> str:
        page = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page
        return f"{page}:{self.line}"

    @property
    def includes(self) -> list[str]:
        """The files this block includes with pymdownx.snippets (then it holds nothing else)."""
        return [m["path"] for line in self.source.splitlines() if (m := INCLUDE.match(line))]


def pages() -> list[Path]:
    """Every page of the site, and the README (its example is code too)."""
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def unwrap_containers(text: str) -> str:
    """The page with every container's body moved out of it, line numbers kept.

    Each opening line becomes blank and the body (blank lines, or lines indented four spaces
    more than the opener) loses those four spaces, until no container is left (nested ones).
    """
    lines = text.splitlines()
    while True:
        found = next(((i, m) for i, line in enumerate(lines) if (m := CONTAINER.match(line))), None)
        if found is None:
            return "\n".join(lines) + "\n"
        opened, match = found
        body = " " * (len(match["indent"]) + 4)
        lines[opened] = ""
        for i in range(opened + 1, len(lines)):
            if lines[i].startswith(body):
                lines[i] = lines[i][: len(body) - 4] + lines[i][len(body) :]
            elif lines[i].strip():
                break


@cache
def blocks(page: Path) -> tuple[Block, ...]:
    text = unwrap_containers(page.read_text(encoding="utf-8"))
    tokens = MarkdownIt("commonmark").parse(text)
    return tuple(
        Block(page, token.map[0] + 1, (token.info.split() or [""])[0].lower(), token.content)
        for token in tokens
        if token.type == "fence" and token.map is not None
    )


def python_blocks(page: Path) -> list[Block]:
    return [b for b in blocks(page) if b.lang in {"python", "py"} and not b.includes]


def commands(page: Path) -> list[tuple[Block, str]]:
    """The ``$ command`` lines of the page's ``console`` blocks (continuation lines joined)."""
    found = []
    for block in blocks(page):
        if block.lang != "console":
            continue
        lines = iter(block.source.splitlines())
        for line in lines:
            if not line.startswith("$ "):
                continue
            command = line[2:]
            while command.endswith("\\"):
                command = command[:-1] + next(lines, "").strip()
            found.append((block, command.strip()))
    return found


def run(page: Path) -> None:
    """Run the page's python blocks in order, in one namespace; the caller sets the scene.

    A failing block raises an ``AssertionError`` naming the page and line of the block; the
    traceback's line numbers are those of the page. Stores and engines the page left open are
    closed at the end, as the reader's process would on exit (an embedded DuckDB file would
    otherwise stay held for the rest of the test process).
    """
    import sqlalchemy as sa

    import metaxy_orm as mx

    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    try:
        for block in python_blocks(page):
            code = compile("\n" * block.line + block.source, str(page), "exec")
            try:
                exec(code, namespace)
            except Exception as exc:
                raise AssertionError(f"the block at {block.where} failed: {exc!r}") from exc
    finally:
        for value in namespace.values():
            if isinstance(value, mx.MetadataStore):
                value.close()
            elif isinstance(value, sa.Engine):
                value.dispose()
