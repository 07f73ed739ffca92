"""DuckDB's spelling of the ordered string aggregate.

``string_agg(v, '|' ORDER BY ...)`` works on DuckDB, but building the ordered list first and
joining it is faster there (about 1.7 s against 2.9 s for 1M members in 10k groups, measured
on a loaded 2-core machine), with the same order: text keys ``COLLATE "C"`` (byte order, i.e.
code points), whatever ``default_collation`` says.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.compiler import compiles

from metaxy_orm.string_agg import OrderedStringAgg, aggregate_arguments

if TYPE_CHECKING:
    from sqlalchemy.sql.compiler import SQLCompiler


@compiles(OrderedStringAgg, "duckdb")
def _string_agg_duckdb(element: OrderedStringAgg, compiler: SQLCompiler, **kw: Any) -> str:
    value, separator, keys = aggregate_arguments(element, compiler, **kw)
    order = ", ".join(f'{k.sql} COLLATE "C"' if k.is_text else k.sql for k in keys)
    return f"array_to_string(list({value} ORDER BY {order}), {separator})"
