"""Everything specific to one database, one folder per backend, behind :class:`Backend`.

Each folder ``_backends/<name>/`` holds the :class:`Backend` subclass (``backend.py``), the SQL
its database needs compiled differently (hash functions), its Alembic implementation and
migration-time recipes (``alembic.py``) and how the test suite gets a fresh database of it
(``provision.py``). Nothing outside this package names a dialect or branches on one: the rest of
metaxy-orm asks the backend, whose capabilities are attributes.

Adding a backend is one folder and one line of :data:`REGISTRY`.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from metaxy_orm._backends.base import Backend
from metaxy_orm.exceptions import StoreError

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = [
    "EMBEDDED_DEFAULT_URL",
    "REGISTRY",
    "Backend",
    "Registration",
    "backend_class",
    "backend_for",
    "capabilities_for",
    "load_alembic_implementations",
    "strictest_identifier_length",
    "test_databases",
]


@dataclass(frozen=True)
class Registration:
    """One backend: its folder (a package of this one) and the SQLAlchemy dialects it serves."""

    name: str
    dialects: tuple[str, ...]

    @property
    def package(self) -> str:
        return f"{__name__}.{self.name}"


#: Every backend metaxy-orm supports. The first is the embedded default.
REGISTRY: tuple[Registration, ...] = (
    Registration("duckdb", dialects=("duckdb",)),
    Registration("postgresql", dialects=("postgresql",)),
    Registration("sqlite", dialects=("sqlite",)),
    Registration("clickhouse", dialects=("clickhousedb", "clickhouse")),
)

#: Where ``MetadataStore()`` keeps metadata when given no target: an embedded database file.
EMBEDDED_DEFAULT_URL = "duckdb:///metaxy.duckdb"


def _registration(dialect_name: str) -> Registration | None:
    for registration in REGISTRY:
        if dialect_name in registration.dialects:
            return registration
    return None


@cache
def backend_class(name: str) -> type[Backend]:
    """The :class:`Backend` subclass of a registered backend (its folder's ``BACKEND``)."""
    module = importlib.import_module(f"{__name__}.{name}")
    cls: type[Backend] = module.BACKEND
    return cls


def backend_for(dialect: sa.Dialect) -> Backend:
    """The backend for a SQLAlchemy dialect, or a clear error naming the supported ones."""
    registration = _registration(dialect.name)
    if registration is None:
        supported = ", ".join(d for r in REGISTRY for d in r.dialects)
        raise StoreError(
            f"metaxy-orm does not support the '{dialect.name}' dialect (supported: {supported})"
        )
    return backend_class(registration.name)()


def capabilities_for(dialect_name: str) -> type[Backend]:
    """The capabilities of the backend serving a dialect; portable defaults for any other.

    For code that must work on any dialect SQLAlchemy knows (``create_all`` of a feature table
    on a database metaxy-orm does not store metadata in, for example).
    """
    registration = _registration(dialect_name)
    return Backend if registration is None else backend_class(registration.name)


def strictest_identifier_length() -> int:
    """The shortest identifier limit of every backend: names that fit work everywhere."""
    return min(backend_class(r.name).max_identifier_length for r in REGISTRY)


def load_alembic_implementations() -> None:
    """Import the Alembic implementations that backends ship (Alembic registers them by name).

    Alembic looks a dialect's implementation up by name when a migration context starts and
    fails without one, so they are loaded up front, whatever ``env.py`` does.
    """
    for registration in REGISTRY:
        backend_class(registration.name).load_alembic_implementation()


def test_databases() -> dict[str, Any]:
    """Test database name -> context manager factory ``(tmp_path) -> URL``, of every backend.

    Each backend's ``provision.py`` says how the test suite gets a fresh, empty database of it
    (a temporary file, a schema on a server, an in-process engine...). A backend may offer
    several (one engine in-process and one server, say); their names are the pytest markers.
    """
    found: dict[str, Any] = {}
    for registration in REGISTRY:
        module = importlib.import_module(f"{registration.package}.provision")
        found.update(module.TEST_DATABASES)
    return found


def _register_compile_rules() -> None:
    """Load every backend's ``hashing.py`` (its SQL compile rules) with this package.

    Compile rules must be registered before any statement is compiled for that dialect, also
    by code that never opened a store (an offline migration, ``str(stmt.compile(engine))``);
    they import nothing but SQLAlchemy, so loading them all up front costs nothing.
    """
    for registration in REGISTRY:
        rules = f"{registration.package}.hashing"
        if importlib.util.find_spec(rules) is not None:
            importlib.import_module(rules)


_register_compile_rules()
if "alembic.ddl.impl" in sys.modules:  # Alembic is running: it needs our implementations now
    load_alembic_implementations()
