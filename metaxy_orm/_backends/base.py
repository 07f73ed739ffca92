"""The backend protocol, with portable SQLAlchemy implementations of every step.

Subclasses override what their database does better (bulk loading, fetching into Arrow, the
latest-row query) and declare their capabilities as class attributes, so that code outside
``_backends`` asks a backend what it can do instead of naming a dialect.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, ClassVar

import polars as pl
import sqlalchemy as sa

from metaxy_orm.columns import newest_first
from metaxy_orm.frames import polars_schema
from metaxy_orm.hashing import SQL_ALGORITHMS, HashAlgorithm

__all__ = ["Backend"]


class Backend:
    """Portable behaviour; every method works on any SQLAlchemy dialect with window functions."""

    name: ClassVar[str] = "generic"
    #: Row hash algorithms this database computes in SQL.
    hash_algorithms: ClassVar[frozenset[HashAlgorithm]] = SQL_ALGORITHMS
    #: Whether the planner joins two subqueries with FULL OUTER JOIN in better than O(n*m).
    efficient_full_join: ClassVar[bool] = True
    #: Whether the planner uses the (id columns, write time) index for "latest row per
    #: sample"; where it does not, the index only slows writes and is not created.
    uses_latest_index: ClassVar[bool] = True
    #: The longest identifier (table, column, constraint name) the database keeps, in bytes.
    max_identifier_length: ClassVar[int] = 63
    #: Whether writes happen inside transactions that a caller can roll back. Where not
    #: (ClickHouse), each write is committed, all rows or none, when it returns.
    transactional: ClassVar[bool] = True
    #: Whether the database itself refuses a duplicate primary key or a NULL in a NOT NULL
    #: column. Where not (ClickHouse), the store's batch checks are the only guard.
    enforces_constraints: ClassVar[bool] = True
    #: Whether ``INSERT ... SELECT`` and ``DELETE`` report how many rows they touched. Where
    #: not (chDB), the store counts the rows concerned before and after instead.
    reports_rowcount: ClassVar[bool] = True
    #: Whether a migration script run offline (``alembic upgrade --sql``) can compute hashes:
    #: ``None`` where it can, else why not and what to do instead.
    offline_hashing_refusal: ClassVar[str | None] = None

    @classmethod
    def load_alembic_implementation(cls) -> None:
        """Import the Alembic ``DefaultImpl`` subclass this database needs, if Alembic lacks one."""

    @classmethod
    def configure_migration(cls, connection: sa.Connection | None, options: dict[str, Any]) -> None:
        """Adjust ``context.configure`` options (in place) for a migration on this database."""

    def write_options(self) -> dict[str, Any]:
        """Execution options of the store's ``INSERT ... SELECT`` (reconcile, backfill)."""
        return {}

    def attach(self, engine: sa.Engine) -> None:
        """Set up an engine the store will use (e.g. hooks on new connections)."""

    def tune(self, conn: sa.Connection) -> None:
        """Adjust settings for the duration of a transaction the store itself opened."""

    def prepare(self, conn: sa.Connection) -> None:
        """Make a connection ready for our SQL (e.g. register hash functions)."""

    # -- queries ---------------------------------------------------------------------------

    def latest_rows(
        self,
        table: sa.FromClause,
        id_columns: Sequence[str],
        columns: Sequence[sa.ColumnElement[Any]],
    ) -> sa.Select[Any]:
        """The latest row per sample (:func:`~metaxy_orm.columns.newest_first`), on ``columns``."""
        ids = [table.c[c] for c in id_columns]
        rank = (
            sa.func.row_number()
            .over(partition_by=ids, order_by=newest_first(table))
            .label("__mx_rank")
        )
        ranked = sa.select(*columns, rank).subquery("__mx_ranked")
        return sa.select(*(ranked.c[str(c.key)] for c in columns)).where(ranked.c["__mx_rank"] == 1)

    # -- data in and out -------------------------------------------------------------------

    def fetch_frame(self, conn: sa.Connection, stmt: sa.Select[Any]) -> pl.DataFrame:
        """Run a select and return its rows as a Polars frame with the select's dtypes."""
        schema = polars_schema(list(stmt.selected_columns))
        result = conn.execute(stmt)
        rows = result.fetchall()
        return pl.DataFrame(rows, schema=schema, orient="row")

    def bulk_insert(self, conn: sa.Connection, table: sa.Table, frame: pl.DataFrame) -> None:
        """Append every row of ``frame`` (columns named as in ``table``) in one statement."""
        if frame.height:
            conn.execute(sa.insert(table), frame.to_dicts())

    def upload(
        self, conn: sa.Connection, frame: pl.DataFrame, types: dict[str, Any]
    ) -> sa.TableClause:
        """Make a frame visible to SQL on this connection, as a temporary table."""
        name = f"__mx_upload_{uuid.uuid4().hex[:12]}"
        temp = sa.Table(
            name,
            sa.MetaData(),
            *(sa.Column(col, types[col]) for col in frame.columns),
            prefixes=["TEMPORARY"],
        )
        temp.create(conn)
        self.bulk_insert(conn, temp, frame)
        return temp

    def discard(self, conn: sa.Connection, table: sa.TableClause) -> None:
        """Drop what :meth:`upload` created."""
        if isinstance(table, sa.Table):
            table.drop(conn)
