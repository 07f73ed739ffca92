"""SQLite's spelling of the ordered string aggregate.

SQLite 3.40 has no ``ORDER BY`` inside ``group_concat`` (it arrived in 3.44) and documents the
order of its members as arbitrary, so the backend registers ``metaxy_string_agg`` from Python on
each connection (:mod:`.backend`): it collects ``(order keys, value)`` and sorts them itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.compiler import compiles

from metaxy_orm.string_agg import OrderedStringAgg, aggregate_arguments

if TYPE_CHECKING:
    from sqlalchemy.sql.compiler import SQLCompiler

#: The name of the aggregate :mod:`.backend` registers.
STRING_AGG_FUNCTION = "metaxy_string_agg"


@compiles(OrderedStringAgg, "sqlite")
def _string_agg_sqlite(element: OrderedStringAgg, compiler: SQLCompiler, **kw: Any) -> str:
    value, _separator, keys = aggregate_arguments(element, compiler, **kw)
    return f"{STRING_AGG_FUNCTION}({', '.join([value, *(k.sql for k in keys)])})"
