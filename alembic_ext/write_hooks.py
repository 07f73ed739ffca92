"""The post-write hook of the ``metaxy`` template: ``ruff format`` when ruff is installed.

Alembic's own ``module`` hook fails the ``alembic revision`` command when the module is missing,
so a template that enabled it would break every project without ruff. This one formats the new
revision with the project's ruff settings when ruff is there (as a module of the running Python
or on ``PATH``) and otherwise leaves the file as the revision template wrote it (imports sorted
and used-only, modern typing; only Alembic's long lines are left unwrapped). Options of the hook
section (``ruff_format.options = --line-length 100``) are passed to ``ruff format``.

Registered by the plugin entry point (:mod:`alembic_ext.plugin`) under :data:`RUFF_FORMAT_HOOK`;
this module imports nothing but the standard library and Alembic's hook registry.
"""

from __future__ import annotations

import importlib.util
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["RUFF_FORMAT_HOOK", "ruff_command", "ruff_format"]

#: The hook's type in ``alembic.ini``: ``ruff_format.type = metaxy_orm_ruff_format``.
RUFF_FORMAT_HOOK: Final = "metaxy_orm_ruff_format"


def ruff_command() -> list[str] | None:
    """How to run ruff here: the running Python's ``ruff`` module, else ``ruff`` on ``PATH``."""
    if importlib.util.find_spec("ruff") is not None:
        return [sys.executable, "-m", "ruff"]
    found = shutil.which("ruff")
    return None if found is None else [found]


def ruff_format(path: str, options: Mapping[str, Any]) -> None:
    """Run ``ruff format`` on the new revision, if ruff is installed."""
    from alembic.util import CommandError, msg

    command = ruff_command()
    if command is None:
        msg("ruff is not installed: revision left unformatted")
        return
    extra = shlex.split(str(options.get("options", "")))
    result = subprocess.run(
        [*command, "format", *extra, path],
        capture_output=True,
        text=True,
        check=False,
        cwd=options.get("cwd"),
    )
    if result.returncode != 0:
        raise CommandError(f"ruff format failed on {path}: {result.stderr.strip()}")
