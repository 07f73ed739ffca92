"""Alembic and the "latest row" index on backends that do not create it.

A feature table's metadata always holds the index (id columns, write time), so that the same
classes and the same revisions serve every backend; ``create_all`` leaves it out where the
backend says it does not use it (``Backend.uses_latest_index``, through ``ddl_if``). Alembic
knows nothing of ``ddl_if``, so a backend's Alembic implementation mixes
:class:`SkipsLatestIndex` in: revisions keep their ``op.create_index`` (they stay the same on
every backend), :meth:`~SkipsLatestIndex.create_index` skips it,
:meth:`~SkipsLatestIndex.drop_index` drops it only if it exists (an older revision may have
created it), and autogenerate's comparison leaves it out on both sides
(:meth:`~SkipsLatestIndex.discard_skipped_indexes`, from ``correct_for_autogen_constraints``).

Only the Alembic implementations (``_backends/<name>/alembic.py``) import this module.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from sqlalchemy import Index

__all__ = ["SkipsLatestIndex"]

log = logging.getLogger(__name__)


class SkipsLatestIndex:
    """Mixin of an Alembic ``DefaultImpl`` subclass (it must come first in the bases)."""

    dialect: sa.Dialect

    def _is_skipped_index(self, index_name: str | None, table_name: str) -> bool:
        """Whether metaxy-orm leaves this index out on this dialect (the latest-row index)."""
        from metaxy_orm._backends import capabilities_for
        from metaxy_orm._backends.identifiers import latest_index_name

        skipped = not capabilities_for(self.dialect.name).uses_latest_index
        return skipped and index_name == latest_index_name(table_name)

    def _index_table_name(self, index: Index) -> str:
        return index.table.name if index.table is not None else ""

    def create_index(self, index: Index, **kw: Any) -> None:
        if self._is_skipped_index(index.name, self._index_table_name(index)):
            log.info(
                "not creating index %s: metaxy-orm does not use it on %s",
                index.name,
                self.dialect.name,
            )
            return
        super().create_index(index, **kw)  # type: ignore[misc]

    def drop_index(self, index: Index, **kw: Any) -> None:
        if self._is_skipped_index(index.name, self._index_table_name(index)):
            kw["if_exists"] = True  # absent, unless an older migration created it
        super().drop_index(index, **kw)  # type: ignore[misc]

    def discard_skipped_indexes(
        self, conn_indexes: set[Index], metadata_indexes: set[Index]
    ) -> None:
        """Leave the skipped index out of autogenerate's comparison, on both sides."""
        for ix in list(metadata_indexes | conn_indexes):
            if isinstance(ix.table, sa.Table) and self._is_skipped_index(ix.name, ix.table.name):
                metadata_indexes.discard(ix)
                conn_indexes.discard(ix)
