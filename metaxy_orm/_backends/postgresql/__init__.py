"""The PostgreSQL backend: everything metaxy-orm does differently on this database."""

from metaxy_orm._backends.postgresql.backend import PostgreSQLBackend

#: The backend class the registry of :mod:`metaxy_orm._backends` loads.
BACKEND = PostgreSQLBackend

__all__ = ["BACKEND", "PostgreSQLBackend"]
