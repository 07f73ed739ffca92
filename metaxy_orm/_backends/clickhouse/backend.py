"""ClickHouse: columnar inserts that land as one part, Arrow results, window latest rows.

Two drivers reach it: clickhouse-connect (``clickhousedb://``, also in-process chDB with
``?interface=chdb``) speaks Arrow both ways; clickhouse-sqlalchemy's native driver
(``clickhouse+native://``, for servers too old for clickhouse-connect) sends columnar blocks.

ClickHouse has no transactions, so "all rows or none" comes from its storage instead: a
MergeTree insert that forms a single block is written as one part, which becomes visible with
one atomic rename or not at all. Every write here is sent as one block (the squashing settings
are raised to the batch size), so a writer killed at any moment leaves all of its rows or none
(``tests/clickhouse/test_atomic_write.py`` kills one). What ClickHouse cannot do this way is
refused or said in ``docs/clickhouse.md`` (a user ``PARTITION BY`` splits a block per partition).
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
import uuid
from collections.abc import Sequence
from typing import Any, ClassVar

import polars as pl
import sqlalchemy as sa

from metaxy_orm._backends.base import Backend
from metaxy_orm._backends.clickhouse.connection_hooks import apply_session_settings
from metaxy_orm._backends.clickhouse.ddl import ENGINE_INFO_KEY, modern_server, too_old
from metaxy_orm._backends.clickhouse.fingerprint import CLICKHOUSE_FINGERPRINT
from metaxy_orm._backends.fingerprint import RowFingerprint
from metaxy_orm.columns import newest_first
from metaxy_orm.frames import polars_schema

__all__ = ["ClickHouseBackend"]

#: Larger than any batch: the server squashes everything it receives into one block.
_ONE_BLOCK = 1 << 62


#: Server error codes that say a table or column does not exist (ClickHouse's ErrorCodes.cpp).
_MISSING_SCHEMA_CODES = {
    "NO_SUCH_COLUMN_IN_TABLE": 16,
    "UNKNOWN_IDENTIFIER": 47,
    "UNKNOWN_TABLE": 60,
    "UNKNOWN_DATABASE": 81,
}


def _one_block_settings(rows: int) -> dict[str, Any]:
    return {
        "max_insert_block_size": max(rows, 1_048_576),
        "min_insert_block_size_rows": _ONE_BLOCK,
        "min_insert_block_size_bytes": _ONE_BLOCK,
        "max_insert_threads": 1,
    }


def _client(conn: sa.Connection) -> Any | None:
    """clickhouse-connect's client behind a connection (None for clickhouse-sqlalchemy)."""
    return getattr(conn.connection.driver_connection, "client", None)


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _in_process(conn: sa.Connection) -> bool:
    """chDB: ClickHouse runs in this process, and reads and writes this machine's files."""
    return conn.engine.url.query.get("interface") == "chdb"


def _settings(settings: dict[str, Any]) -> str:
    return ", ".join(f"{name} = {value}" for name, value in settings.items())


# chDB runs in this process, so its memory is the process's memory. Through clickhouse-connect
# an Arrow insert is first serialised into one Python buffer, then copied into a file that chDB
# reads, and a result comes back as one buffer that is copied again into Arrow then Polars:
# at 1M rows a write took the process 1 GB above what it held before. Polars writes and reads
# Arrow IPC files itself, column by column, and chDB reads and writes files, so the rows go
# through a temporary file instead (bench: the write's peak falls from +1 GB to +0.35 GB).


def _insert_through_file(client: Any, table: sa.Table, frame: pl.DataFrame) -> None:
    """``INSERT ... FROM INFILE`` an Arrow file Polars wrote: one statement, one block."""
    target = (
        _quote(table.name) if not table.schema else f"{_quote(table.schema)}.{_quote(table.name)}"
    )
    columns = ", ".join(_quote(c) for c in frame.columns)
    with tempfile.TemporaryDirectory(prefix="metaxy-orm-") as folder:
        path = os.path.join(folder, "rows.arrow")
        frame.write_ipc(path, compression="uncompressed", compat_level=pl.CompatLevel.oldest())
        client.command(
            f"INSERT INTO {target} ({columns}) FROM INFILE {_literal(path)} "
            f"SETTINGS {_settings(_one_block_settings(frame.height))} FORMAT Arrow"
        )
    _give_back(client, frame.height)


def _fetch_through_file(client: Any, query: str, parameters: dict[str, Any]) -> pl.DataFrame:
    """``SELECT ... INTO OUTFILE``, read by Polars: the result is never one Python buffer."""
    with tempfile.TemporaryDirectory(prefix="metaxy-orm-") as folder:
        path = os.path.join(folder, "rows.arrow")
        client.command(
            f"{query} INTO OUTFILE {_literal(path)} FORMAT Arrow "
            "SETTINGS output_format_arrow_string_as_string = 1",
            parameters=parameters,
        )
        frame = pl.read_ipc(path)
    _give_back(client, frame.height)
    return frame


#: Rows from which a write or read is followed by a purge of chDB's allocator.
_PURGE_FROM_ROWS = 100_000


def _give_back(client: Any, rows: int) -> None:
    """Hand the memory chDB freed back to the system after a large insert or result.

    chDB's allocator (jemalloc) keeps freed pages for reuse; in a process that then works in
    Polars they only count against its peak. ``SYSTEM JEMALLOC PURGE`` takes a few ms.
    """
    if rows >= _PURGE_FROM_ROWS:
        client.command("SYSTEM JEMALLOC PURGE")


class ClickHouseBackend(Backend):
    name: ClassVar[str] = "clickhouse"
    # The table is sorted by (id columns, write time) already (its MergeTree ORDER BY); there
    # are no secondary B-tree indexes to create.
    uses_latest_index: ClassVar[bool] = False
    transactional: ClassVar[bool] = False
    enforces_constraints: ClassVar[bool] = False
    reports_rowcount: ClassVar[bool] = False
    fingerprint: ClassVar[RowFingerprint | None] = CLICKHOUSE_FINGERPRINT
    # Date32's range (a `date` column is Date32 here).
    date_range: ClassVar[tuple[datetime.date, datetime.date] | None] = (
        datetime.date(1900, 1, 1),
        datetime.date(2299, 12, 31),
    )
    refused_kinds: ClassVar[dict[str, str]] = {
        "binary": "ClickHouse's String hands bytes back as text through clickhouse-connect; "
        "store them base64- or hex-encoded in a `str` column",
        "time": "ClickHouse reads a Time64 back as a duration, not a time of day; store it as "
        "microseconds since midnight in an `int` column",
        "uuid": "clickhouse-connect reads a UUID column back as raw bytes in Arrow; store the "
        "UUID's text in a `str` column",
    }

    @classmethod
    def driver_errors(cls) -> tuple[type[Exception], ...]:
        # fetch_frame and bulk_insert call the drivers directly, past SQLAlchemy.
        errors: list[type[Exception]] = []
        try:
            from clickhouse_connect.driver.exceptions import ClickHouseError

            errors.append(ClickHouseError)
        except ImportError:  # pragma: no cover - clickhouse-sqlalchemy only
            pass
        try:
            from clickhouse_driver.errors import Error  # type: ignore[import-untyped]

            errors.append(Error)
        except ImportError:  # pragma: no cover - clickhouse-connect only
            pass
        return tuple(errors)

    @classmethod
    def is_missing_schema(cls, error: BaseException) -> bool:
        code = getattr(error, "code", None)  # clickhouse-driver's ServerException
        if isinstance(code, int):
            return code in _MISSING_SCHEMA_CODES.values()
        text = str(error)  # clickhouse-connect: "Code: 60. DB::Exception: ... (UNKNOWN_TABLE)"
        return any(
            f"({name})" in text or f"Code: {number}." in text
            for name, number in _MISSING_SCHEMA_CODES.items()
        )

    def attach(self, engine: sa.Engine) -> None:
        # The ClickHouse dialects lack the JSON (de)serializers sa.JSON columns expect.
        dialect: Any = engine.dialect
        for attribute, function in (
            ("_json_serializer", json.dumps),
            ("_json_deserializer", json.loads),
        ):
            if getattr(dialect, attribute, None) is None:
                setattr(dialect, attribute, function)

    def write_options(self) -> dict[str, Any]:
        # An INSERT ... SELECT squashed into one block, hence one part: all rows or none.
        return {"settings": _one_block_settings(0)}

    @classmethod
    def load_alembic_implementation(cls) -> None:
        from metaxy_orm._backends.clickhouse.alembic import load

        load()

    #: Window functions (stable since ClickHouse 21.9) serve "latest row per sample" fastest:
    #: at 1M rows on chDB a resolve takes 0.7-1.7 s with ``row_number()`` against 1.9-4.2 s
    #: with ``LIMIT 1 BY`` (bench/). Servers from 20.1 to 21.8 get ``LIMIT 1 BY``.
    _window_functions = True

    def prepare(self, conn: sa.Connection) -> None:
        version = getattr(conn.dialect, "server_version_info", None)
        if version is not None:  # clickhouse-connect (chDB, current servers) does not tell
            self._window_functions = tuple(version[:2]) >= (21, 9)
        apply_session_settings(conn)  # also done on every connect (connection_hooks)
        if not modern_server(conn.dialect):
            raise too_old(
                conn.dialect,
                "DateTime64 (write times to the microsecond order a sample's rows), and its SQL "
                "lacks IS DISTINCT FROM, more than one JOIN per SELECT and DELETE FROM",
            )

    # -- queries ---------------------------------------------------------------------------

    def latest_rows(
        self,
        table: sa.FromClause,
        id_columns: Sequence[str],
        columns: Sequence[sa.ColumnElement[Any]],
    ) -> sa.Select[Any]:
        if self._window_functions:
            return super().latest_rows(table, id_columns, columns)
        # No window functions: LIMIT n BY keeps the first row of each sample in the
        # newest-first order (it exists on every ClickHouse version).
        by = ", ".join(_quote(c) for c in id_columns)
        return (
            sa.select(*columns)
            .order_by(*newest_first(table))
            .suffix_with(sa.text(f"LIMIT 1 BY {by}"))
        )

    # -- data in and out -------------------------------------------------------------------

    def fetch_frame(self, conn: sa.Connection, stmt: sa.Select[Any]) -> pl.DataFrame:
        client = _client(conn)
        if client is None:
            return super().fetch_frame(conn, stmt)
        schema = polars_schema(list(stmt.selected_columns))
        compiled = stmt.compile(dialect=conn.dialect)
        if _in_process(conn):
            frame = _fetch_through_file(client, str(compiled), compiled.params)
        else:
            arrow = client.query_arrow(str(compiled), parameters=compiled.params, use_strings=True)
            fetched = pl.from_arrow(arrow)
            assert isinstance(fetched, pl.DataFrame)
            frame = fetched
        frame = frame.rename(dict(zip(frame.columns, schema, strict=True)))
        return frame.cast(schema)  # type: ignore[arg-type]

    def bulk_insert(self, conn: sa.Connection, table: sa.Table, frame: pl.DataFrame) -> None:
        if not frame.height:
            return
        client = _client(conn)
        if client is None:
            self._insert_native(conn, table, frame)
            return
        if _in_process(conn):
            _insert_through_file(client, table, frame)
            return
        arrow = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
        client.insert_arrow(
            table.name,
            arrow,
            database=table.schema,
            settings=_one_block_settings(frame.height),
        )

    def _insert_native(self, conn: sa.Connection, table: sa.Table, frame: pl.DataFrame) -> None:
        """clickhouse-driver: one columnar INSERT, sent and squashed as one block."""
        driver: Any = conn.connection.driver_connection
        transport = driver.transport
        columns = ", ".join(_quote(c) for c in frame.columns)
        target = _quote(table.name)
        if table.schema:
            target = f"{_quote(table.schema)}.{target}"
        data = [frame[c].to_list() for c in frame.columns]
        transport.execute(
            f"INSERT INTO {target} ({columns}) VALUES",
            data,
            columnar=True,
            settings={**_one_block_settings(frame.height), "insert_block_size": _ONE_BLOCK},
        )

    def upload(
        self, conn: sa.Connection, frame: pl.DataFrame, types: dict[str, Any]
    ) -> sa.TableClause:
        temp = sa.Table(
            f"__mx_upload_{uuid.uuid4().hex[:12]}",
            sa.MetaData(),
            *(sa.Column(col, types[col], nullable=False) for col in frame.columns),
            info={ENGINE_INFO_KEY: "Memory"},
        )
        temp.create(conn)
        self.bulk_insert(conn, temp, frame)
        return temp
