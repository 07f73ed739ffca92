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
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def includes(self) -> list[str]:
        """The files this block includes with pymdownx.snippets (then it holds nothing else)."""
        return [m["path"] for line in self.source.splitlines() if (m := INCLUDE.match(line))]


def pages() -> list[Path]:
    """Every page of the site, and the README (its example is code too)."""
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


@cache
def blocks(page: Path) -> tuple[Block, ...]:
    tokens = MarkdownIt("commonmark").parse(page.read_text(encoding="utf-8"))
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
