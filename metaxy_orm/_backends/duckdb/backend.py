"""DuckDB: Arrow in, Arrow out, on the very connection SQLAlchemy holds.

Frames are registered as views (zero copy) for bulk inserts and uploads, and results are
fetched as Arrow, so no row ever becomes a Python object.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any, ClassVar

import polars as pl
import sqlalchemy as sa

from metaxy_orm._backends.base import Backend
from metaxy_orm._backends.duckdb.fingerprint import DUCKDB_FINGERPRINT
from metaxy_orm._backends.fingerprint import RowFingerprint
from metaxy_orm.exceptions import DatabaseLockedError, MetaxyError
from metaxy_orm.frames import polars_schema

__all__ = ["DuckDBBackend"]

#: Catalog type names whose reflection duckdb-engine loses (DOUBLE and FLOAT both come back as
#: a plain FLOAT, JSON as a plain string), and the SQLAlchemy type each really is.
_REFLECTED_TYPES: dict[str, Any] = {"DOUBLE": sa.Double, "FLOAT": sa.Float, "JSON": sa.JSON}


def _catalog_types(inspector: sa.Inspector, table: sa.Table) -> dict[str, str]:
    key = ("metaxy_orm.duckdb_catalog_types", table.name, table.schema)
    cached: dict[str, str] | None = inspector.info_cache.get(key)
    if cached is None:
        query = sa.text(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = :table AND table_schema = coalesce(:schema, current_schema()) "
            "AND table_catalog = current_database()"
        )
        params = {"table": table.name, "schema": table.schema}
        bind = inspector.bind
        if isinstance(bind, sa.Connection):
            rows = bind.execute(query, params).all()
        else:
            with bind.connect() as conn:
                rows = conn.execute(query, params).all()
        cached = inspector.info_cache[key] = {str(n): str(t) for n, t in rows}
    return cached


@sa.event.listens_for(sa.Table, "column_reflect")
def _restore_reflected_type(
    inspector: sa.Inspector, table: sa.Table, column_info: dict[str, Any]
) -> None:
    """Give reflected DOUBLE, FLOAT and JSON columns their real type back.

    Reflection (Alembic's autogenerate included) would otherwise see a DOUBLE column, which
    is what a feature's ``float`` is, as a 32-bit FLOAT and report a type change on every
    ``alembic check``; likewise every JSON column as text.
    """
    if inspector.dialect.name != "duckdb":
        return
    if not isinstance(column_info.get("type"), sa.Float | sa.String):
        return
    real = _REFLECTED_TYPES.get(_catalog_types(inspector, table).get(column_info["name"], ""))
    if real is not None:
        column_info["type"] = real()


def _raw(conn: sa.Connection) -> Any:
    return conn.connection.driver_connection


class DuckDBBackend(Backend):
    name: ClassVar[str] = "duckdb"
    # DuckDB's ART indexes only serve point lookups and constraints, never the window or
    # aggregate plans of "latest row per sample", and on 1M-row bulk loads they cost ~40% of
    # the insert time (bench/), so the latest-row index is not created there.
    uses_latest_index: ClassVar[bool] = False
    # Nor the primary key's index (it costs ~1.6 s per 1M-row load): see .ddl.
    creates_feature_primary_key: ClassVar[bool] = False
    # DuckDB's FLOAT is 4 bytes, and a NUMERIC without precision is DECIMAL(18, 3).
    float_bits: ClassVar[int] = 32
    plain_decimal: ClassVar[tuple[int, int] | None] = (18, 3)
    fingerprint: ClassVar[RowFingerprint | None] = DUCKDB_FINGERPRINT

    @classmethod
    def driver_errors(cls) -> tuple[type[Exception], ...]:
        import duckdb

        return (duckdb.Error,)

    @classmethod
    def is_missing_schema(cls, error: BaseException) -> bool:
        import duckdb

        if isinstance(error, duckdb.CatalogException):
            return True
        text = str(error)
        return isinstance(error, duckdb.BinderException) and (
            "does not have a column" in text or "Referenced column" in text
        )

    def translate_error(self, error: sa.exc.DBAPIError) -> MetaxyError | None:
        # DuckDB lets one process open a database file for writing: a second one gets an
        # IOException about the file lock, naming the process that holds it.
        import duckdb

        if isinstance(error.orig, duckdb.IOException) and "lock" in str(error.orig).lower():
            return DatabaseLockedError(
                f"the DuckDB database is in use by another process ({error.orig}). DuckDB "
                "allows one process per database file: stop the other process, serve every "
                "request from one process (e.g. one uvicorn worker), or use PostgreSQL for "
                "several processes"
            )
        return None

    def fetch_frame(self, conn: sa.Connection, stmt: sa.Select[Any]) -> pl.DataFrame:
        schema = polars_schema(list(stmt.selected_columns))
        compiled = stmt.compile(dialect=conn.dialect)
        params = [compiled.params[name] for name in compiled.positiontup or ()]
        frame = _raw(conn).sql(str(compiled), params=params or None).pl()
        if not isinstance(frame, pl.DataFrame):  # pragma: no cover - duckdb API guard
            frame = pl.DataFrame(frame)
        return frame.cast(schema)  # type: ignore[arg-type]

    def _register(self, conn: sa.Connection, frame: pl.DataFrame) -> str:
        name = f"__mx_frame_{uuid.uuid4().hex[:12]}"
        # Arrow's view types (string_view, binary_view) are Polars' own layout: the newest
        # compatibility level hands the buffers over as they are, where the default one copies
        # every string into a large_string array (~0.25 s per 1M rows of ten text columns).
        _raw(conn).register(name, frame.to_arrow(compat_level=pl.CompatLevel.newest()))
        return name

    def bulk_insert(self, conn: sa.Connection, table: sa.Table, frame: pl.DataFrame) -> None:
        if not frame.height:
            return
        view = self._register(conn, frame)
        source = sa.select(*(sa.column(c) for c in frame.columns)).select_from(sa.table(view))
        try:
            conn.execute(sa.insert(table).from_select(list(frame.columns), source))
        except Exception:
            # The transaction is aborted: unregistering may fail too, and must not hide the
            # database's own error.
            with contextlib.suppress(Exception):
                _raw(conn).unregister(view)
            raise
        _raw(conn).unregister(view)

    def upload(
        self, conn: sa.Connection, frame: pl.DataFrame, types: dict[str, Any]
    ) -> sa.TableClause:
        view = self._register(conn, frame)
        return sa.table(view, *(sa.column(c, types[c]) for c in frame.columns))

    def discard(self, conn: sa.Connection, table: sa.TableClause) -> None:
        _raw(conn).unregister(table.name)
