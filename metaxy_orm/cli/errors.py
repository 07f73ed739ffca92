"""Exit codes CI can gate on, and the one place that turns errors into messages.

- ``0``: done, and everything asked about is fine;
- ``1``: done, and the answer is "no" (``status --assert-in-sync`` with work to do, ``check``
  with a mismatch, ``graph diff --exit-code`` with changes, a refused confirmation);
- ``2``: the command line or the configuration is wrong (unknown feature, missing setting);
- ``3``: the database or the library refused (cannot connect, a table is missing, ...).

Driver errors never leak as tracebacks: a SQLAlchemy error is reduced to its first line with
the hint to run ``mxo check``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from enum import IntEnum
from typing import Any, ParamSpec, TypeVar

import sqlalchemy as sa
import typer

from metaxy_orm.config import ConfigError
from metaxy_orm.exceptions import FeatureNotFoundError, MetaxyError
from metaxy_orm.store.errors import MissingSchemaError

__all__ = ["CliError", "ExitCode", "handle_errors"]

P = ParamSpec("P")
R = TypeVar("R")


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    ERROR = 3


class CliError(MetaxyError):
    """An error of the command line itself, with the exit code it ends with."""

    def __init__(self, message: str, code: ExitCode = ExitCode.USAGE) -> None:
        super().__init__(message)
        self.code = code


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _describe(exc: Exception) -> tuple[str, ExitCode]:
    if isinstance(exc, CliError):
        return str(exc), exc.code
    if isinstance(exc, ConfigError | FeatureNotFoundError):
        return str(exc), ExitCode.USAGE
    if isinstance(exc, MissingSchemaError):
        return f"{exc} `mxo check` lists everything the database lacks.", ExitCode.ERROR
    if isinstance(exc, MetaxyError):
        return str(exc), ExitCode.ERROR
    if isinstance(exc, sa.exc.SQLAlchemyError):
        return (
            f"database error ({type(exc).__name__}): {_first_line(exc)}. "
            "Run `mxo check` to compare the database with the code.",
            ExitCode.ERROR,
        )
    raise exc


def handle_errors(json_flag: str = "json") -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Wrap a command: known errors become a message on stderr and an exit code.

    With ``--json`` the error is also printed on stdout as ``{"error": {...}}``, so that a
    script always gets one JSON document.
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                message, code = _describe(exc)
                if kwargs.get(json_flag):
                    document: dict[str, Any] = {
                        "error": {"type": type(exc).__name__, "message": message, "exit_code": code}
                    }
                    typer.echo(_dumps(document))
                typer.echo(f"error: {message}", err=True)
                raise typer.Exit(code) from exc

        return wrapper

    return decorate


def _dumps(document: Any) -> str:
    import json

    return json.dumps(document, indent=2)
