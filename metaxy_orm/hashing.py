"""Row hashing: "hash of these parts joined by ``|``, truncated", in SQL and in Polars.

The SQL side is one SQLAlchemy construct per digest (:class:`MD5Hex`, :class:`SHA256Hex`)
compiled with ``sqlalchemy.ext.compiler``: the default rules here render ``md5(x)``,
``sha256(x)`` and ``substr(x, 1, n)``, and a backend whose database spells them otherwise
registers its own rules in its folder (``metaxy_orm/_backends/<name>/hashing.py``).
The Polars twin computes byte-identical text in memory; tests check both against ``hashlib``.

Parts are concatenated with ``||`` (never ``concat``/``concat_ws``, which treat NULL differently
on each engine): a NULL part makes the whole hash NULL everywhere, and callers ``coalesce`` the
parts that may legitimately be missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from metaxy_orm.exceptions import EmptyHashError, UnsupportedHashAlgorithmError
from metaxy_orm.versioning import check_truncation

if TYPE_CHECKING:
    import polars as pl
    from sqlalchemy.sql.compiler import SQLCompiler
    from sqlalchemy.sql.elements import ColumnElement

__all__ = [
    "SEPARATOR",
    "HashAlgorithm",
    "MD5Hex",
    "SHA256Hex",
    "TruncateText",
    "digest_argument",
    "parse_algorithm",
    "polars_hash_parts",
    "polars_hash_text",
    "sql_hash_parts",
    "sql_hash_text",
    "sql_join_parts",
]

SEPARATOR = "|"


class HashAlgorithm(StrEnum):
    """Row hash algorithms. ``md5`` is the portable default."""

    MD5 = "md5"
    SHA256 = "sha256"
    XXHASH32 = "xxhash32"
    XXHASH64 = "xxhash64"
    XXH3_64 = "xxh3_64"

    @property
    def hex_length(self) -> int | None:
        """Length of the text form, when it is fixed (hex digests)."""
        return {HashAlgorithm.MD5: 32, HashAlgorithm.SHA256: 64}.get(self)


#: Algorithms every SQL backend computes in the database.
SQL_ALGORITHMS = frozenset({HashAlgorithm.MD5, HashAlgorithm.SHA256})


def parse_algorithm(value: str | HashAlgorithm) -> HashAlgorithm:
    """Validate a hash algorithm name."""
    try:
        return HashAlgorithm(value)
    except ValueError:
        choices = ", ".join(a.value for a in HashAlgorithm)
        raise UnsupportedHashAlgorithmError(
            f"unknown hash algorithm {value!r}; choose one of: {choices}"
        ) from None


# -- SQL ------------------------------------------------------------------------------------


class _HexDigest(FunctionElement[str]):
    """Lowercase hex digest of one text expression."""

    type = sa.String()
    inherit_cache = True


class MD5Hex(_HexDigest):
    name = "md5"
    inherit_cache = True


class SHA256Hex(_HexDigest):
    name = "sha256"
    inherit_cache = True


class TruncateText(FunctionElement[str]):
    """The first ``length`` characters of a text: ``TruncateText(expr, length)``."""

    type = sa.String()
    name = "substr"
    inherit_cache = True

    def __init__(self, expr: ColumnElement[str], length: int) -> None:
        # The length is rendered inline so that it is part of the statement's cache key.
        super().__init__(expr, sa.literal_column(str(int(length))))


def digest_argument(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    """The compiled text argument of a digest construct, for per-dialect compile rules."""
    return str(compiler.process(element.clauses, **kw))


@compiles(MD5Hex)
def _md5_default(element: MD5Hex, compiler: SQLCompiler, **kw: Any) -> str:
    return f"md5({digest_argument(element, compiler, **kw)})"


@compiles(SHA256Hex)
def _sha256_default(element: SHA256Hex, compiler: SQLCompiler, **kw: Any) -> str:
    return f"sha256({digest_argument(element, compiler, **kw)})"


@compiles(TruncateText)
def _truncate_default(element: TruncateText, compiler: SQLCompiler, **kw: Any) -> str:
    text, length = (compiler.process(c, **kw) for c in element.clauses)
    return f"substr({text}, 1, {length})"


_SQL_DIGESTS: dict[HashAlgorithm, type[_HexDigest]] = {
    HashAlgorithm.MD5: MD5Hex,
    HashAlgorithm.SHA256: SHA256Hex,
}


def sql_join_parts(parts: Sequence[ColumnElement[Any] | str]) -> ColumnElement[str]:
    """``p1 || '|' || p2 || ...``; adjacent literal parts are merged into one bound string."""
    merged: list[ColumnElement[Any] | str] = []
    for i, part in enumerate(parts):
        if i:
            merged = _append_literal(merged, SEPARATOR)
        merged = _append_literal(merged, part) if isinstance(part, str) else [*merged, part]
    if not merged:
        raise EmptyHashError("cannot hash an empty list of parts")
    exprs = [sa.literal(p, sa.String()) if isinstance(p, str) else p for p in merged]
    result = exprs[0]
    for expr in exprs[1:]:
        result = result.op("||", return_type=sa.String())(expr)
    return result


def _append_literal(
    merged: list[ColumnElement[Any] | str], text: str
) -> list[ColumnElement[Any] | str]:
    if merged and isinstance(merged[-1], str):
        return [*merged[:-1], merged[-1] + text]
    return [*merged, text]


def sql_hash_text(
    text: ColumnElement[str], algorithm: HashAlgorithm, truncation: int
) -> ColumnElement[str]:
    """Hex digest of a text expression, truncated to ``truncation`` characters, in SQL."""
    digest_cls = _SQL_DIGESTS.get(algorithm)
    if digest_cls is None:
        raise UnsupportedHashAlgorithmError(
            f"hash algorithm '{algorithm.value}' cannot be computed in SQL; "
            f"use one of: {', '.join(sorted(a.value for a in SQL_ALGORITHMS))}"
        )
    digest: ColumnElement[str] = digest_cls(text)
    hex_length = algorithm.hex_length
    if hex_length is None or check_truncation(truncation) < hex_length:
        digest = TruncateText(digest, truncation)
    return digest


def sql_hash_parts(
    parts: Sequence[ColumnElement[Any] | str], algorithm: HashAlgorithm, truncation: int
) -> ColumnElement[str]:
    """``trunc_T(H("|".join(parts)))`` as a SQL expression."""
    return sql_hash_text(sql_join_parts(parts), algorithm, truncation)


# -- Polars ---------------------------------------------------------------------------------


def polars_hash_text(text: pl.Expr, algorithm: HashAlgorithm, truncation: int) -> pl.Expr:
    """The Polars twin of :func:`sql_hash_text` (plus the xxhash family)."""
    import polars as pl
    import polars_hash  # noqa: F401  (registers the `chash`/`nchash` namespaces)

    hashed: Any = text  # polars-hash's namespaces are invisible to type checkers
    if algorithm is HashAlgorithm.MD5:
        digest: pl.Expr = hashed.nchash.md5()
    elif algorithm is HashAlgorithm.SHA256:
        digest = hashed.chash.sha2_256()
    elif algorithm is HashAlgorithm.XXHASH32:
        digest = hashed.nchash.xxhash32().cast(pl.String)
    elif algorithm is HashAlgorithm.XXHASH64:
        digest = hashed.nchash.xxhash64().cast(pl.String)
    else:
        digest = hashed.nchash.xxh3_64().cast(pl.String)
    return digest.str.slice(0, check_truncation(truncation))


def polars_join_parts(parts: Sequence[pl.Expr | str]) -> pl.Expr:
    import polars as pl

    exprs = [pl.lit(p, dtype=pl.String) if isinstance(p, str) else p for p in parts]
    return pl.concat_str(exprs, separator=SEPARATOR)


def polars_hash_parts(
    parts: Sequence[pl.Expr | str], algorithm: HashAlgorithm, truncation: int
) -> pl.Expr:
    """``trunc_T(H("|".join(parts)))`` as a Polars expression."""
    return polars_hash_text(polars_join_parts(parts), algorithm, truncation)
