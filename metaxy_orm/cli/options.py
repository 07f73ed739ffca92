"""Options shared by several commands."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

__all__ = ["FeatureArg", "Format", "JsonOption"]

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout (for scripts).")
]

FeatureArg = Annotated[str, typer.Argument(help="Feature key, e.g. video or group/name.")]


class Format(StrEnum):
    """Output formats of ``mxo graph render`` and ``mxo graph diff``."""

    terminal = "terminal"
    mermaid = "mermaid"
    dot = "dot"
    json = "json"
