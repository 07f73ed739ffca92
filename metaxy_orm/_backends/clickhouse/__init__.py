"""The ClickHouse backend: everything metaxy-orm does differently on this database."""

from metaxy_orm._backends.clickhouse.backend import ClickHouseBackend

#: The backend class the registry of :mod:`metaxy_orm._backends` loads.
BACKEND = ClickHouseBackend

__all__ = ["BACKEND", "ClickHouseBackend"]
