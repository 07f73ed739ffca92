"""The SQLite backend: everything metaxy-orm does differently on this database."""

from metaxy_orm._backends.sqlite.backend import SQLiteBackend

#: The backend class the registry of :mod:`metaxy_orm._backends` loads.
BACKEND = SQLiteBackend

__all__ = ["BACKEND", "SQLiteBackend"]
