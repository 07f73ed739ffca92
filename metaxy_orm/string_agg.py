"""Ordered string aggregation: the members of a group joined by ``|`` in a deterministic order.

Aggregation lineage hashes the data versions of a group's members in member order
(``VERSIONING.md``, "Lineage"): the upstream id columns ascending, each in its own type's
order, text by code point. :class:`OrderedStringAgg` is that aggregate as one SQLAlchemy
construct; the default rule here renders ``string_agg(value, '|' ORDER BY k1 COLLATE "C", k2)``
(PostgreSQL and DuckDB: the ``"C"`` collation orders text by its bytes, i.e. by code point in
UTF-8, whatever the database's default collation), and a backend whose database spells it
otherwise registers its own rule in ``metaxy_orm/_backends/<name>/hashing.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from metaxy_orm.exceptions import EmptyHashError
from metaxy_orm.hashing import SEPARATOR

if TYPE_CHECKING:
    from sqlalchemy.sql.compiler import SQLCompiler
    from sqlalchemy.sql.elements import ColumnElement

__all__ = ["OrderKey", "OrderedStringAgg", "aggregate_arguments"]


class OrderedStringAgg(FunctionElement[str]):
    """``value`` of every row of a group, joined by ``|`` in ``order_by`` order (ascending)."""

    type = sa.String()
    name = "string_agg"
    inherit_cache = True

    def __init__(self, value: ColumnElement[Any], order_by: Sequence[ColumnElement[Any]]) -> None:
        if not order_by:
            raise EmptyHashError("an ordered string aggregate needs at least one order key")
        super().__init__(value, *order_by)


class OrderKey:
    """One compiled order key, and whether it is text (which needs a binary collation)."""

    __slots__ = ("is_text", "sql")

    def __init__(self, sql: str, is_text: bool) -> None:
        self.sql = sql
        self.is_text = is_text


def _is_text(type_: sa.types.TypeEngine[Any]) -> bool:
    """Text, including text behind a ``TypeDecorator`` (SQLModel's ``AutoString`` for ``str``)."""
    if isinstance(type_, sa.types.TypeDecorator):
        type_ = type_.impl_instance
    return isinstance(type_, sa.String)


def aggregate_arguments(
    element: OrderedStringAgg, compiler: SQLCompiler, **kw: Any
) -> tuple[str, str, list[OrderKey]]:
    """The compiled value, the separator literal and the order keys, for dialect rules."""
    value, *keys = element.clauses.clauses
    order = [OrderKey(str(compiler.process(k, **kw)), _is_text(k.type)) for k in keys]
    return str(compiler.process(value, **kw)), f"'{SEPARATOR}'", order


@compiles(OrderedStringAgg)
def _string_agg_default(element: OrderedStringAgg, compiler: SQLCompiler, **kw: Any) -> str:
    value, separator, keys = aggregate_arguments(element, compiler, **kw)
    order = ", ".join(f'{k.sql} COLLATE "C"' if k.is_text else k.sql for k in keys)
    return f"string_agg({value}, {separator} ORDER BY {order})"
