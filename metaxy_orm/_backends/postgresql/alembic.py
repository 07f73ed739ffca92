"""PostgreSQL's Alembic implementation: Alembic's own, minus the "latest row" index.

metaxy-orm does not create that index on PostgreSQL (``PostgreSQLBackend.uses_latest_index``):
the primary key (id columns, data version, write time) already leads with the id columns, so
it serves every lookup by sample, and the full "latest row per sample" plans (``DISTINCT ON``)
read the table sequentially and sort whatever index exists. Keeping the index only cost
~25% of a bulk load. :class:`~metaxy_orm._backends.latest_index.SkipsLatestIndex` keeps
revisions and autogenerate consistent with that (see there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alembic.ddl.postgresql import PostgresqlImpl

from metaxy_orm._backends.latest_index import SkipsLatestIndex

if TYPE_CHECKING:
    from sqlalchemy import Index, UniqueConstraint

__all__ = ["PostgreSQLImpl"]


class PostgreSQLImpl(SkipsLatestIndex, PostgresqlImpl):
    """Alembic's PostgreSQL implementation; the latest-row index is left out."""

    __dialect__ = "postgresql"

    def correct_for_autogen_constraints(
        self,
        conn_unique_constraints: set[UniqueConstraint],
        conn_indexes: set[Index],
        metadata_unique_constraints: set[UniqueConstraint],
        metadata_indexes: set[Index],
        *args: Any,
    ) -> None:
        super().correct_for_autogen_constraints(  # type: ignore[no-untyped-call]
            conn_unique_constraints, conn_indexes, metadata_unique_constraints, metadata_indexes
        )
        if isinstance(conn_indexes, set) and isinstance(metadata_indexes, set):
            self.discard_skipped_indexes(conn_indexes, metadata_indexes)
