"""The backend protocol, with portable SQLAlchemy implementations of every step.

Subclasses override what their database does better (bulk loading, fetching into Arrow, the
latest-row query) and declare their capabilities as class attributes, so that code outside
``_backends`` asks a backend what it can do instead of naming a dialect.
"""

from __future__ import annotations

import datetime
import importlib
import importlib.util
import uuid
from collections.abc import Sequence
from typing import Any, ClassVar

import polars as pl
import sqlalchemy as sa

from metaxy_orm._backends.fingerprint import RowFingerprint
from metaxy_orm.column_types import describe
from metaxy_orm.columns import newest_first
from metaxy_orm.exceptions import MetaxyError
from metaxy_orm.frames import polars_schema, python_to_frame_value, storage_type
from metaxy_orm.hashing import SQL_ALGORITHMS, HashAlgorithm

__all__ = ["Backend"]

#: Rows per ``executemany`` of the portable bulk insert.
_SLICE_ROWS = 100_000


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
    #: Whether a feature table's primary key (id columns, data version, write time) is created
    #: in the database. Where not (DuckDB: its key index only slows bulk loads), the ORM keeps
    #: the key and the store's own guarantees (one row per sample per batch, write times that
    #: never repeat in a process) are what keep rows unique.
    creates_feature_primary_key: ClassVar[bool] = True
    #: Whether ``INSERT ... SELECT`` and ``DELETE`` report how many rows they touched. Where
    #: not (chDB), the store counts the rows concerned before and after instead.
    reports_rowcount: ClassVar[bool] = True
    # -- what column values survive a round trip (checked by ``write`` before any insert) --
    #: Width in bits of a plain ``FLOAT`` (``sa.Float()`` without precision).
    float_bits: ClassVar[int] = 64
    #: Whether a float column keeps NaN (SQLite stores NULL instead).
    stores_nan: ClassVar[bool] = True
    #: Whether a float column keeps the sign of -0.0.
    keeps_negative_zero: ClassVar[bool] = True
    #: Whether text columns hold the NUL character.
    text_holds_nul: ClassVar[bool] = True
    #: (precision, scale) of a ``Numeric`` declared without them (``None``: unbounded).
    plain_decimal: ClassVar[tuple[int, int] | None] = None
    #: Whether ``Numeric`` values are kept as 64-bit floats (SQLite's NUMERIC affinity).
    decimals_as_double: ClassVar[bool] = False
    #: (first, last) date a ``date`` column holds (``None``: all of Python's dates).
    date_range: ClassVar[tuple[datetime.date, datetime.date] | None] = None
    #: Column kinds (``metaxy_orm.column_types.Kind``) whose values the backend cannot give
    #: back exactly, with why: ``write`` refuses any non-NULL value of them.
    refused_kinds: ClassVar[dict[str, str]] = {}
    #: Largest primary-key entry (id values, data version, write time) the index takes, in
    #: bytes (``None``: no limit that ids could reach).
    max_index_key_bytes: ClassVar[int | None] = None
    #: Whether a migration script run offline (``alembic upgrade --sql``) can compute hashes:
    #: ``None`` where it can, else why not and what to do instead.
    offline_hashing_refusal: ClassVar[str | None] = None
    #: The row hash of table fingerprints (incremental resolve); ``None``: always recompute.
    fingerprint: ClassVar[RowFingerprint | None] = None
    #: The isolation level (SQLAlchemy's name) under which every statement of a transaction
    #: reads one snapshot, where that is not already the default (PostgreSQL's READ COMMITTED
    #: takes a snapshot per statement): the store's own resolves and statuses run under it.
    snapshot_isolation: ClassVar[str | None] = None

    @classmethod
    def driver_errors(cls) -> tuple[type[Exception], ...]:
        """Errors the driver raises where the backend bypasses SQLAlchemy (raw connections)."""
        return ()

    @classmethod
    def is_missing_schema(cls, error: BaseException) -> bool:
        """Whether a driver error says that a table or column does not exist."""
        return False

    @classmethod
    def is_transient(cls, error: BaseException) -> bool:
        """Whether a failed statement would succeed if the transaction were run again (a
        serialization failure or a deadlock): an optional write that meets one is skipped,
        not given up for good."""
        return False

    @classmethod
    def error_column(cls, error: BaseException) -> str | None:
        """The column a driver error is about, where the driver reports it."""
        return None

    @classmethod
    def load_alembic_implementation(cls) -> None:
        """Import the backend folder's ``alembic.py``, if it has one.

        There a backend defines the Alembic ``DefaultImpl`` subclass its database needs when
        Alembic ships none (Alembic registers it by dialect name when the class is defined),
        or customises one: ``transactional_ddl``, a version table of its own
        (``version_table_impl``), what autogenerate compares. Only the Alembic extension calls
        this, when Alembic is there to import.
        """
        package = cls.__module__.rpartition(".")[0]
        if package.startswith(f"{__package__}.") and importlib.util.find_spec(f"{package}.alembic"):
            importlib.import_module(f"{package}.alembic")

    @classmethod
    def configure_migration(cls, connection: sa.Connection | None, options: dict[str, Any]) -> None:
        """Adjust the ``context.configure`` options (in place) for a migration on this database.

        ``connection`` is ``None`` for an offline (``--sql``) migration. An option the user set
        explicitly must be kept (``options.setdefault``); e.g. ``render_as_batch`` where
        ``ALTER TABLE`` is too limited, ``transactional_ddl`` where DDL cannot be rolled back.
        """

    def write_options(self) -> dict[str, Any]:
        """Execution options of the store's ``INSERT ... SELECT`` (reconcile, backfill)."""
        return {}

    def attach(self, engine: sa.Engine) -> None:
        """Set up an engine the store will use (e.g. hooks on new connections)."""

    def tune(self, conn: sa.Connection) -> None:
        """Adjust settings for the duration of a transaction the store itself opened."""

    def prepare(self, conn: sa.Connection) -> None:
        """Make a connection ready for our SQL (e.g. register hash functions)."""

    def translate_error(self, error: sa.exc.DBAPIError) -> MetaxyError | None:
        """A metaxy-orm error for a database error this backend recognises, else ``None``.

        For errors a user meets in normal operation whose raw message does not say what to do
        (an embedded database file locked by another process, say).
        """
        return None

    # -- queries ---------------------------------------------------------------------------

    #: Whether the planner pulls a plain subquery up into the query around it and evaluates
    #: every reference to one of its computed columns anew (PostgreSQL, SQLite). There a
    #: subquery whose columns are hashes is fenced (:meth:`computed_once`).
    inlines_subqueries: ClassVar[bool] = False

    def computed_once(self, select: sa.Select[Any]) -> sa.Select[Any]:
        """``select``, made so that its computed columns run once per row, however often the
        query around it refers to them.

        An expected provenance is referred to by the comparison, the changed flags and the
        output, and hashed again into the row's provenance: inlined, PostgreSQL computed about
        ten md5 per row instead of three (1M rows: 3.9 s of a 4.6 s resolve). ``OFFSET 0``
        keeps the subquery whole on the engines that inline (SQLite renders it
        ``LIMIT -1 OFFSET 0``); the others merge common expressions themselves.
        """
        return select.offset(0) if self.inlines_subqueries else select

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
        columns = list(stmt.selected_columns)
        schema = polars_schema(columns)
        result = conn.execute(stmt)
        rows = result.fetchall()
        converters = {
            i: convert
            for i, c in enumerate(columns)
            if (convert := python_to_frame_value(c.type)) is not None
        }
        if converters and rows:
            data = [list(r) for r in rows]
            for row in data:
                for i, convert in converters.items():
                    if row[i] is not None:
                        row[i] = convert(row[i])
            return pl.DataFrame(data, schema=schema, orient="row")
        return pl.DataFrame(rows, schema=schema, orient="row")

    def bulk_insert(self, conn: sa.Connection, table: sa.Table, frame: pl.DataFrame) -> None:
        """Append every row of ``frame`` (columns named as in ``table``) in one statement.

        Frame forms go in as the column types' bind processors expect them: JSON text as text
        (not encoded twice), UUID text as ``uuid.UUID``.
        """
        if not frame.height:
            return
        target = sa.table(
            table.name,
            *(sa.column(c, storage_type(table.c[c].type)) for c in frame.columns),
            schema=table.schema,
        )
        uuids = [c for c in frame.columns if describe(table.c[c].type).kind == "uuid"]
        # In slices: the rows of a slice are Python objects (~1 KB each), a whole 1M-row batch
        # at once would hold ~1 GB of them; each slice is one executemany of the same INSERT.
        for offset in range(0, frame.height, _SLICE_ROWS):
            rows = frame.slice(offset, _SLICE_ROWS).to_dicts()
            for name in uuids:
                for row in rows:
                    if row[name] is not None:
                        row[name] = uuid.UUID(row[name])
            conn.execute(sa.insert(target), rows)

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
