"""Backend specifics, one module per database, behind the :class:`Backend` base class.

The store only talks to a :class:`Backend`; adding a database means adding one module here and
one line to :data:`_BACKENDS`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from metaxy_orm._backends.base import Backend
from metaxy_orm.exceptions import StoreError

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = ["Backend", "backend_for"]


def _duckdb() -> Backend:
    from metaxy_orm._backends.duckdb import DuckDBBackend

    return DuckDBBackend()


def _postgresql() -> Backend:
    from metaxy_orm._backends.postgresql import PostgreSQLBackend

    return PostgreSQLBackend()


def _sqlite() -> Backend:
    from metaxy_orm._backends.sqlite import SQLiteBackend

    return SQLiteBackend()


_BACKENDS = {"duckdb": _duckdb, "postgresql": _postgresql, "sqlite": _sqlite}


def backend_for(dialect: sa.Dialect) -> Backend:
    """The backend for a SQLAlchemy dialect."""
    factory = _BACKENDS.get(dialect.name)
    if factory is None:
        supported = ", ".join(sorted(_BACKENDS))
        raise StoreError(
            f"metaxy-orm does not support the '{dialect.name}' dialect yet "
            f"(supported: {supported}; ClickHouse is planned)"
        )
    return factory()
