"""PostgreSQL's spelling of the hash constructs: ``sha256`` takes ``bytea`` there."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.compiler import compiles

from metaxy_orm.hashing import SHA256Hex, digest_argument

if TYPE_CHECKING:
    from sqlalchemy.sql.compiler import SQLCompiler


@compiles(SHA256Hex, "postgresql")
def _sha256_postgresql(element: SHA256Hex, compiler: SQLCompiler, **kw: Any) -> str:
    return f"encode(sha256(convert_to({digest_argument(element, compiler, **kw)}, 'UTF8')), 'hex')"
