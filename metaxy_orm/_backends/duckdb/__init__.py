"""The DuckDB backend: everything metaxy-orm does differently on this database."""

from metaxy_orm._backends.duckdb import ddl as _ddl  # noqa: F401  (registers the DDL hook)
from metaxy_orm._backends.duckdb.backend import DuckDBBackend

#: The backend class the registry of :mod:`metaxy_orm._backends` loads.
BACKEND = DuckDBBackend

__all__ = ["BACKEND", "DuckDBBackend"]
