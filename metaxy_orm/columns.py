"""System columns: their names and SQL types, in one place.

Every feature table carries these columns next to the user's own (see ``VERSIONING.md``).
Per-field columns are nullable because a field added to an existing feature has no provenance in
the rows written before it existed (those rows are then simply stale); row-level columns are
``NOT NULL``.
"""

from __future__ import annotations

from typing import Any, Final

import sqlalchemy as sa
from sqlmodel.sql.sqltypes import UTCDateTime

from metaxy_orm.keys import FieldKey

__all__ = [
    "CHANGED_PREFIX",
    "CREATED_AT",
    "DATA_VERSION",
    "FEATURE_VERSION",
    "MATERIALIZATION_ID",
    "PROVENANCE",
    "RESERVED_PREFIX",
    "SNAPSHOT_VERSION",
    "SystemColumn",
    "changed_column",
    "data_version_column",
    "newest_first",
    "provenance_column",
    "system_columns",
]

RESERVED_PREFIX: Final = "metaxy_"
PROVENANCE: Final = "metaxy_provenance"
DATA_VERSION: Final = "metaxy_data_version"
FEATURE_VERSION: Final = "metaxy_feature_version"
SNAPSHOT_VERSION: Final = "metaxy_snapshot_version"
CREATED_AT: Final = "metaxy_created_at"
MATERIALIZATION_ID: Final = "metaxy_materialization_id"
#: Increment-only per-field flags of stale samples (``changed_column``); never stored.
CHANGED_PREFIX: Final = "metaxy_changed__"


def provenance_column(field: FieldKey) -> str:
    """``metaxy_provenance__<field>``: the per-field provenance column."""
    return f"{PROVENANCE}__{field.column_suffix}"


def changed_column(field: FieldKey) -> str:
    """``metaxy_changed__<field>``: in an increment, must a stale sample recompute the field?

    Increment-only (never stored): ``write`` drops it.
    """
    return f"{CHANGED_PREFIX}{field.column_suffix}"


def data_version_column(field: FieldKey) -> str:
    """``metaxy_data_version__<field>``: the per-field data version column."""
    return f"{DATA_VERSION}__{field.column_suffix}"


def newest_first(table: sa.FromClause) -> list[sa.UnaryExpression[Any]]:
    """The order that makes a sample's first row its latest: the one definition of "latest".

    Newest ``metaxy_created_at`` first; two rows written at the same instant (two processes can
    write in the same microsecond) are ordered by ``metaxy_data_version``, greatest first. The
    primary key (id columns, data version, write time) makes that order total, so ``read``,
    ``mx.latest``, ``resolve_update``, ``status`` and every data operation pick the same row.
    """
    return [table.c[CREATED_AT].desc(), table.c[DATA_VERSION].desc()]


class SystemColumn:
    """A system column: its name, SQL type and nullability."""

    __slots__ = ("name", "nullable", "python_type", "sa_type")

    def __init__(
        self, name: str, sa_type: sa.types.TypeEngine[Any], python_type: type, nullable: bool
    ) -> None:
        self.name = name
        self.sa_type = sa_type
        self.python_type = python_type
        self.nullable = nullable

    def __repr__(self) -> str:
        return f"SystemColumn({self.name!r})"


def _text(name: str, nullable: bool) -> SystemColumn:
    return SystemColumn(name, sa.String(), str, nullable)


def system_columns(fields: tuple[FieldKey, ...]) -> list[SystemColumn]:
    """The system columns of a feature with these fields, in table order."""
    from datetime import datetime

    ordered = sorted(fields, key=str)
    return [
        *(_text(provenance_column(f), True) for f in ordered),
        *(_text(data_version_column(f), True) for f in ordered),
        _text(PROVENANCE, False),
        _text(DATA_VERSION, False),
        _text(FEATURE_VERSION, False),
        _text(SNAPSHOT_VERSION, False),
        SystemColumn(CREATED_AT, UTCDateTime(), datetime, False),
        _text(MATERIALIZATION_ID, True),
    ]
