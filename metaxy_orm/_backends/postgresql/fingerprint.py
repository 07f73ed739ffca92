"""PostgreSQL's row hash for table fingerprints: ``hash_record_extended`` of the row's values.

PostgreSQL 14 and later hash a ``ROW(...)`` with each column type's own extended hash function
(64 bits, seed 0): no text is formatted, so the checksum does not depend on the session's
``TimeZone`` or ``DateStyle``, and it costs half of hashing the row's text (1M rows of seven
columns: 0.56 s against 1.19 s for ``hashtextextended(ROW(...)::text, 0)``). A column of a
type without a hash operator class (``json``, arrays of such...) enters as its text. Servers
before 14 have no record hash; they hash the row's text, as the statement is compiled for the
connected server's version.

A failed statement aborts a PostgreSQL transaction, so the optional state write runs in a
savepoint.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from metaxy_orm._backends.fingerprint import RowFingerprint

if TYPE_CHECKING:
    from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["POSTGRESQL_FINGERPRINT"]

#: Types whose PostgreSQL counterparts have a hash operator class (the record hash needs one
#: per column); anything else is hashed as its text.
_HASHABLE: tuple[type[sa.types.TypeEngine[Any]], ...] = (
    sa.String,
    sa.Integer,
    sa.Numeric,
    sa.Boolean,
    sa.Date,
    sa.DateTime,
    sa.Time,
    sa.Interval,
    sa.Uuid,
    sa.LargeBinary,
)


class _RecordHash(FunctionElement[int]):
    """``hash_record_extended(ROW(columns), 0)``, or the row's text hashed before PostgreSQL 14."""

    type = sa.BigInteger()
    inherit_cache = True
    name = "mx_record_hash"


@compiles(_RecordHash)
def _record_hash(element: _RecordHash, compiler: SQLCompiler, **kw: Any) -> str:
    row = f"ROW({compiler.process(element.clauses, **kw)})"
    version = getattr(compiler.dialect, "server_version_info", None)
    if version is not None and version < (14,):
        return f"hashtextextended(CAST({row} AS TEXT), 0)"
    return f"hash_record_extended({row}, 0)"


def _hashable(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    kind = column.type
    while isinstance(kind, sa.TypeDecorator):  # SQLModel's AutoString, metaxy-orm's UTC times
        kind = kind.impl_instance
    if isinstance(kind, postgresql.JSONB) or (
        isinstance(kind, _HASHABLE) and not isinstance(kind, sa.Enum)
    ):
        return column
    return sa.cast(column, sa.Text())


class _PostgreSQLFingerprint(RowFingerprint):
    needs_savepoint = True
    snapshot_isolations = frozenset({"REPEATABLE READ", "SERIALIZABLE"})

    def row_hash(self, columns: Sequence[sa.ColumnElement[Any]]) -> sa.ColumnElement[int]:
        return _RecordHash(*(_hashable(c) for c in columns))

    @contextlib.contextmanager
    def scanning(self, conn: sa.Connection) -> Iterator[None]:
        # The planner prices each row a parallel worker hands to the leader (parallel_tuple_cost)
        # as if rows were wide; here each is 16 bytes and the record hash is the work, so it
        # keeps the scan on one process. Priced at zero for these statements, the hash runs on
        # every worker allowed (1M rows of each of two tables: 1.65 s -> 1.19 s on 2 cores).
        # The settings are put back as they were, for the rest of the transaction (a failed
        # statement aborts the transaction or its savepoint, which takes them back itself).
        before = conn.execute(_CURRENT_COSTS).one()
        conn.execute(_SET_COSTS, {"setup": "0", "tuple": "0"})
        yield
        conn.execute(_SET_COSTS, {"setup": before[0], "tuple": before[1]})


_CURRENT_COSTS = sa.text(
    "SELECT current_setting('parallel_setup_cost'), current_setting('parallel_tuple_cost')"
)
_SET_COSTS = sa.text(
    "SELECT set_config('parallel_setup_cost', :setup, true), "
    "set_config('parallel_tuple_cost', :tuple, true)"
)


POSTGRESQL_FINGERPRINT = _PostgreSQLFingerprint()
