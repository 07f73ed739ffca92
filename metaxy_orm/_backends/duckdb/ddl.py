"""How feature tables are created on DuckDB: no primary-key index, hash columns uncompressed.

Two compile hooks on ``CREATE TABLE`` (so ``metadata.create_all()``,
``CreateTable(t).compile()`` and Alembic's ``op.create_table`` agree); what the ORM and the
rest of metaxy-orm see of the table (``table.primary_key``, the column types) does not change.

**No primary-key index.**

DuckDB maintains a primary key as an ART index, checked on every insert: about 1.6 s per 1M
rows of a bulk load, against ~0.8 s for the whole load without it (bench/workflow.py), and its
planner never uses that index for "latest row per sample" (window or hash aggregate plans).
What the key guarantees is already guaranteed by the store:

- one row per sample in a batch (``write`` refuses a batch that holds a sample twice);
- a write time per batch that never repeats or goes backwards within a process
  (:func:`metaxy_orm.write_time.write_time`), and a DuckDB file is opened for writing by one
  process at a time;
- ``NOT NULL`` on the id columns, the data version and the write time, which DuckDB still
  enforces (they are column constraints, not part of the index).

So ``CREATE TABLE`` on DuckDB leaves out the primary key of a *feature* table (the one whose
columns end with the data version and the write time: :func:`is_feature_primary_key`), while
``table.primary_key`` stays what the ORM and the rest of metaxy-orm see. Being a compile hook,
it applies to ``metadata.create_all()``, ``CreateTable(t).compile()`` and Alembic's
``op.create_table`` alike; Alembic does not compare the primary keys of existing tables, and
duckdb-engine reflects none, so autogenerate sees no difference either way. Other tables (the
snapshot table, the user's own) keep their key.

**Hash columns stored uncompressed.** The provenance and data version columns
(``metaxy_provenance``, ``metaxy_data_version`` and their ``__<field>`` columns) hold hex
digests, one distinct value per row: DuckDB's dictionary compression finds nothing to share,
and FSST halves them at a cost that dominates a bulk load into a file (a 1M-row, 11-column
load measured 3.0 s with it and 1.4 s with these seven columns left uncompressed; the
checksum scan of an incremental resolve 0.28 s against 0.10 s). The price is disk: those
columns take their full size (that test table, 32-character md5 digests: 260 MB instead of
133 MB; the default 8-character digests are stored inline either way). The
ids, the versions (one value per batch) and the user's columns keep DuckDB's compression.
Columns added later by ``ALTER TABLE`` (a migration) are compressed as usual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateColumn

from metaxy_orm.columns import CREATED_AT, DATA_VERSION, PROVENANCE

if TYPE_CHECKING:
    from sqlalchemy.sql.compiler import DDLCompiler

__all__ = ["is_feature_primary_key", "is_hash_column"]


def is_feature_primary_key(constraint: sa.PrimaryKeyConstraint) -> bool:
    """Whether this is the composite key metaxy-orm gives a feature table.

    Recognised by its last two columns (data version, write time), which only a feature table's
    key has: ``metaxy_`` names are reserved for metaxy-orm.
    """
    names = [c.name for c in constraint.columns]
    return names[-2:] == [DATA_VERSION, CREATED_AT]


@compiles(sa.PrimaryKeyConstraint, "duckdb")
def _primary_key_duckdb(
    constraint: sa.PrimaryKeyConstraint, compiler: DDLCompiler, **kw: Any
) -> str | None:
    # ``None`` makes the DDL compiler leave the constraint out of CREATE TABLE.
    if is_feature_primary_key(constraint):
        return None
    return str(compiler.visit_primary_key_constraint(constraint, **kw))


def is_hash_column(name: str) -> bool:
    """Whether a column holds metaxy-orm's hex digests (one distinct value per row)."""
    return any(name == p or name.startswith(f"{p}__") for p in (PROVENANCE, DATA_VERSION))


@compiles(CreateColumn, "duckdb")
def _column_duckdb(create: CreateColumn, compiler: DDLCompiler, **kw: Any) -> str | None:
    text: str | None = compiler.visit_create_column(create, **kw)  # type: ignore[no-untyped-call]
    if text is not None and is_hash_column(str(create.element.name)):
        return f"{text} USING COMPRESSION uncompressed"
    return text
