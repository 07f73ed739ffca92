"""One configuration for every entry point: the ``mxo`` CLI, Alembic's ``env.py``, the web app.

Settings come from three sources, later ones winning:

1. ``[tool.metaxy-orm]`` in the nearest ``pyproject.toml`` (searched from the working directory
   upward)::

       [tool.metaxy-orm]
       modules = ["example_app.features"]     # imported to define (register) the features
       database_url = "duckdb:///metaxy.duckdb"
       hash_algorithm = "md5"
       hash_truncation_length = 8

2. environment variables: ``METAXY_ORM_MODULES`` (comma-separated), ``METAXY_ORM_DATABASE_URL``,
   ``METAXY_ORM_HASH_ALGORITHM``, ``METAXY_ORM_HASH_TRUNCATION_LENGTH``;
3. explicit overrides (command-line flags), passed to :func:`load_config`.

A module entry is a module path (``"pkg.features"``, whose import defines the features) or
``"module:function"``, a factory called with no arguments (``define_video_pipeline`` style).
Relative module imports resolve from the directory of the ``pyproject.toml`` (it is put on
``sys.path``, as Alembic's ``prepend_sys_path`` does), so ``mxo`` works from any subdirectory.

Every error names the source that holds the bad value, or every source that could have given
a missing one.
"""

from __future__ import annotations

import importlib
import os
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from metaxy_orm._backends import EMBEDDED_DEFAULT_URL
from metaxy_orm.exceptions import ConfigError
from metaxy_orm.hashing import HashAlgorithm, parse_algorithm
from metaxy_orm.versioning import DEFAULT_TRUNCATION, check_truncation

__all__ = [
    "ENVIRONMENT",
    "PYPROJECT_TABLE",
    "Config",
    "ConfigError",
    "find_pyproject",
    "hide_password",
    "load_config",
]

PYPROJECT_TABLE: Final = "tool.metaxy-orm"

#: Setting -> the environment variable that sets it.
ENVIRONMENT: Final[dict[str, str]] = {
    "modules": "METAXY_ORM_MODULES",
    "database_url": "METAXY_ORM_DATABASE_URL",
    "hash_algorithm": "METAXY_ORM_HASH_ALGORITHM",
    "hash_truncation_length": "METAXY_ORM_HASH_TRUNCATION_LENGTH",
}

#: Setting -> the command-line flag of ``mxo`` that sets it (named in error messages).
FLAGS: Final[dict[str, str]] = {
    "modules": "--module",
    "database_url": "--database-url",
    "hash_algorithm": "--hash-algorithm",
    "hash_truncation_length": "--hash-truncation-length",
}


@dataclass(frozen=True)
class Config:
    """The resolved settings, with where each one came from (for messages and ``--json``)."""

    modules: tuple[str, ...] = ()
    database_url: str | None = None
    hash_algorithm: HashAlgorithm = HashAlgorithm.MD5
    hash_truncation_length: int = DEFAULT_TRUNCATION
    #: The ``pyproject.toml`` read, if any.
    pyproject: Path | None = None
    #: Setting -> "pyproject.toml (path)", "environment (VAR)", "flag (--x)" or "default".
    origins: Mapping[str, str] = field(default_factory=dict)

    @property
    def root(self) -> Path | None:
        """The project directory: where the ``pyproject.toml`` is."""
        return None if self.pyproject is None else self.pyproject.parent

    def require_database_url(self) -> str:
        """The database URL, or an error listing every place it could have been set."""
        if self.database_url:
            return self.database_url
        raise ConfigError("no database URL is configured. " + _where_to_set("database_url", self))

    def import_modules(self) -> None:
        """Import (or call) every feature module, so that their features register.

        The features land in the active :class:`~metaxy_orm.graph.FeatureGraph`.
        """
        if not self.modules:
            raise ConfigError(
                "no feature modules are configured, so no feature is defined. "
                + _where_to_set("modules", self)
            )
        root = self.root
        if root is not None and str(root) not in sys.path:
            sys.path.insert(0, str(root))
        for entry in self.modules:
            _load_entry(entry, self.origins.get("modules", "default"))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings (the database URL with its password hidden)."""
        return {
            "modules": list(self.modules),
            "database_url": None if self.database_url is None else hide_password(self.database_url),
            "hash_algorithm": self.hash_algorithm.value,
            "hash_truncation_length": self.hash_truncation_length,
            "pyproject": None if self.pyproject is None else str(self.pyproject),
            "origins": dict(self.origins),
        }


def hide_password(url: str) -> str:
    """The URL with its password masked, for messages and output."""
    import sqlalchemy as sa

    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy can parse: show it as given
        return url


def _where_to_set(name: str, config: Config) -> str:
    table = (
        f"[{PYPROJECT_TABLE}] of {config.pyproject}"
        if config.pyproject is not None
        else f"[{PYPROJECT_TABLE}] of a pyproject.toml (none found from {Path.cwd()} upward)"
    )
    example = {
        "modules": 'modules = ["myapp.features"]',
        "database_url": f'database_url = "{EMBEDDED_DEFAULT_URL}"',
    }.get(name, f"{name} = ...")
    return (
        f"Set it in one of: {table} (`{example}`), the environment variable "
        f"{ENVIRONMENT[name]}, or the flag {FLAGS[name]}."
    )


def _load_entry(entry: str, origin: str) -> None:
    module_name, _, function_name = entry.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ConfigError(
            f"cannot import feature module '{module_name}' (listed in modules, from {origin}): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if not function_name:
        return
    factory = getattr(module, function_name, None)
    if not callable(factory):
        raise ConfigError(
            f"feature module entry '{entry}' (from {origin}): module '{module_name}' has no "
            f"function '{function_name}'"
        )
    factory()


# -- reading the sources ---------------------------------------------------------------------


def find_pyproject(start: Path | None = None) -> Path | None:
    """The nearest ``pyproject.toml`` from ``start`` (default: the working directory) upward."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _pyproject_settings(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    table = data.get("tool", {}).get("metaxy-orm", {})
    if not isinstance(table, dict):
        raise ConfigError(f"[{PYPROJECT_TABLE}] of {path} must be a table")
    unknown = sorted(set(table) - set(ENVIRONMENT))
    if unknown:
        raise ConfigError(
            f"[{PYPROJECT_TABLE}] of {path}: unknown key(s) {unknown}; "
            f"known keys: {sorted(ENVIRONMENT)}"
        )
    return dict(table)


def _env_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, variable in ENVIRONMENT.items():
        value = environ.get(variable)
        if value is None or value.strip() == "":
            continue
        if name == "modules":
            found[name] = [m.strip() for m in value.split(",") if m.strip()]
        else:
            found[name] = value.strip()
    return found


def _modules(value: Any, origin: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Iterable) or not all(isinstance(m, str) and m for m in value):
        raise ConfigError(f"modules (from {origin}) must be a list of module names, got {value!r}")
    return tuple(value)


def _truncation(value: Any, origin: str) -> int:
    try:
        number = int(value) if isinstance(value, str) else value
        return check_truncation(number)
    except ValueError as exc:
        raise ConfigError(f"hash_truncation_length (from {origin}): {exc}") from exc


def _algorithm(value: Any, origin: str) -> HashAlgorithm:
    try:
        return parse_algorithm(str(value))
    except ValueError as exc:
        raise ConfigError(f"hash_algorithm (from {origin}): {exc}") from exc


def _database_url(value: Any, origin: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"database_url (from {origin}) must be a non-empty string")
    return value


_PARSERS = {
    "modules": _modules,
    "database_url": _database_url,
    "hash_algorithm": _algorithm,
    "hash_truncation_length": _truncation,
}


def load_config(
    *,
    start: Path | None = None,
    pyproject: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Resolve the settings: ``pyproject.toml``, then the environment, then ``overrides``.

    ``pyproject`` names the file to read (default: the nearest one from ``start``, itself the
    working directory by default); ``environ`` defaults to ``os.environ``; ``overrides`` maps
    setting names to values (``None`` values are ignored), as command-line flags give them.
    """
    if pyproject is not None and not pyproject.is_file():
        raise ConfigError(f"configuration file {pyproject} does not exist")
    path = pyproject if pyproject is not None else find_pyproject(start)
    layers: list[tuple[str, dict[str, Any]]] = []
    if path is not None:
        layers.append((f"pyproject.toml ({path})", _pyproject_settings(path)))
    env = os.environ if environ is None else environ
    layers.append(("environment", _env_settings(env)))
    unknown = sorted(set(overrides or {}) - set(ENVIRONMENT))
    if unknown:
        raise ConfigError(f"unknown setting(s) {unknown}; known: {sorted(ENVIRONMENT)}")
    flags = {k: v for k, v in (overrides or {}).items() if v is not None and v != ()}
    layers.append(("flag", flags))

    values: dict[str, Any] = {}
    origins: dict[str, str] = dict.fromkeys(ENVIRONMENT, "default")
    for source, settings in layers:
        for name, value in settings.items():
            if source == "environment":
                origin = f"environment ({ENVIRONMENT[name]})"
            elif source == "flag":
                origin = f"flag ({FLAGS[name]})"
            else:
                origin = source
            values[name] = _PARSERS[name](value, origin)
            origins[name] = origin
    return Config(pyproject=path.resolve() if path else None, origins=origins, **values)
