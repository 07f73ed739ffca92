"""Where the CLI's answers go: rich on a terminal, plain text when piped, JSON on request.

Every command prints through :class:`Output`, so the rule is written once: ``--json`` prints
one JSON document on stdout; otherwise styled lines (:mod:`metaxy_orm.render.text`) are coloured
on a terminal and printed bare when stdout is a pipe or a file. Messages and progress go to
stderr, so that stdout stays parseable.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from metaxy_orm.render.text import Line, plain

__all__ = ["STYLES", "Output"]

#: Rich styles of the span styles used by the renderers.
STYLES = {
    "feature": "bold cyan",
    "field": "bold",
    "version": "magenta",
    "muted": "dim",
    "added": "green",
    "removed": "red",
    "changed": "yellow",
    "reached": "dark_orange",
    "unchanged": "dim",
    "ok": "green",
    "warn": "yellow",
    "error": "bold red",
}


class Output:
    """The printing side of one command invocation."""

    def __init__(self, *, json_mode: bool) -> None:
        self.json_mode = json_mode
        # Created per invocation: the streams may be replaced (tests, redirections).
        self._out = Console(highlight=False, soft_wrap=True)
        self._err = Console(stderr=True, highlight=False, soft_wrap=True)

    @property
    def terminal(self) -> bool:
        return self._out.is_terminal

    def lines(self, lines: Sequence[Line]) -> None:
        """Styled lines: coloured on a terminal, bare text otherwise."""
        if self.json_mode:
            return
        if not self.terminal:
            sys.stdout.write(plain(lines))
            sys.stdout.flush()
            return
        for line in lines:
            text = Text()
            for chunk, style in line:
                text.append(chunk, style=STYLES.get(style, ""))
            self._out.print(text)

    def text(self, message: str, style: str = "") -> None:
        """One line of text on stdout (not in JSON mode)."""
        self.lines([((message, style),)])

    def data(self, document: Any) -> None:
        """The JSON answer (only in JSON mode)."""
        if self.json_mode:
            sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")
            sys.stdout.flush()

    def message(self, message: str, style: str = "") -> None:
        """A note for the person running the command, on stderr."""
        if self._err.is_terminal:
            self._err.print(Text(message, style=STYLES.get(style, "")))
        else:
            sys.stderr.write(message + "\n")
            sys.stderr.flush()

    @contextmanager
    def working(self, message: str) -> Iterator[None]:
        """A spinner on stderr while one long step runs (only on a terminal)."""
        if not self._err.is_terminal:
            yield
            return
        with self._err.status(message):
            yield

    @contextmanager
    def progress(self, description: str, total: int) -> Iterator[Callable[[str], None]]:
        """A progress bar on stderr when it is a terminal; yields ``advance(label)``."""
        if not self._err.is_terminal or total < 2:
            yield lambda label: None
            return
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=self._err, transient=True) as bar:
            task = bar.add_task(description, total=total)

            def advance(label: str) -> None:
                bar.update(task, advance=1, description=f"{description} {label}")

            yield advance
