"""ClickHouse's spelling of the hash constructs, for both of its SQLAlchemy dialects.

``MD5``/``SHA256`` return raw bytes there and ``hex`` is upper case, hence
``lower(hex(MD5(toString(x))))``; ``toString`` because ``MD5(FixedString)`` is illegal. Parts are
joined with ``||`` (see :mod:`metaxy_orm.hashing`), which ClickHouse 18.16 and 26.x both accept
and which, as everywhere, gives NULL when a part is NULL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.compiler import compiles

from metaxy_orm._backends.clickhouse import (  # noqa: F401  (compile rules and event hooks)
    connection_hooks,
    ddl,
)
from metaxy_orm._backends.clickhouse.dialects import DIALECTS
from metaxy_orm.hashing import MD5Hex, SHA256Hex, TruncateText, digest_argument
from metaxy_orm.string_agg import OrderedStringAgg, aggregate_arguments

if TYPE_CHECKING:
    from sqlalchemy.sql.compiler import SQLCompiler


def _md5(element: MD5Hex, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower(hex(MD5(toString({digest_argument(element, compiler, **kw)}))))"


def _sha256(element: SHA256Hex, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower(hex(SHA256(toString({digest_argument(element, compiler, **kw)}))))"


def _truncate(element: TruncateText, compiler: SQLCompiler, **kw: Any) -> str:
    text, length = (compiler.process(c, **kw) for c in element.clauses)
    return f"substring({text}, 1, {length})"


def _string_agg(element: OrderedStringAgg, compiler: SQLCompiler, **kw: Any) -> str:
    # No ORDER BY inside an aggregate: collect (keys, value) pairs, sort them by the keys and
    # join the values. ClickHouse compares String by its bytes (code point order in UTF-8), so
    # text keys need no collation; groupArray skips NULL values, as string_agg does.
    value, separator, keys = aggregate_arguments(element, compiler, **kw)
    key = f"tuple({', '.join(k.sql for k in keys)})"
    pairs = f"groupArray(tuple({key}, {value}))"
    return f"arrayStringConcat(arrayMap(x -> x.2, arraySort(x -> x.1, {pairs})), {separator})"


for _dialect in DIALECTS:
    compiles(MD5Hex, _dialect)(_md5)
    compiles(SHA256Hex, _dialect)(_sha256)
    compiles(TruncateText, _dialect)(_truncate)
    compiles(OrderedStringAgg, _dialect)(_string_agg)
