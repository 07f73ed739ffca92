"""Database errors of store calls, translated into metaxy-orm's own exceptions.

Whatever the driver raises (through SQLAlchemy, or directly where a backend talks to its driver:
DuckDB's Arrow paths, PostgreSQL's COPY) reaches the user as a
:class:`StoreDatabaseError` that names the feature, the column when the
error names one, and says what to do; a missing table or column becomes a
:class:`MissingSchemaError` that says to run the migrations. The original
error is chained and kept as ``orig``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import sqlalchemy as sa

from metaxy_orm.exceptions import MetaxyError, StoreError

if TYPE_CHECKING:
    from metaxy_orm._backends import Backend

__all__ = ["MissingSchemaError", "StoreDatabaseError", "translated_errors"]

_MIGRATE = (
    "Create or update the table: run the migrations (`alembic upgrade head`), or "
    "`SQLModel.metadata.create_all(engine)` for a database without Alembic"
)


class StoreDatabaseError(StoreError, sa.exc.DBAPIError):
    """The database refused or failed a store call.

    The driver's error is chained (``__cause__``) and kept as ``orig``; the class also derives
    from SQLAlchemy's ``DBAPIError``, so code that catches SQLAlchemy's errors keeps working.
    ``feature`` and ``column`` name what the error is about (``column`` when known).
    """

    def __init__(
        self,
        message: str,
        *,
        orig: BaseException,
        feature: str,
        column: str | None = None,
        statement: str | None = None,
    ) -> None:
        sa.exc.DBAPIError.__init__(self, statement, None, orig)
        self.message = message
        self.feature = feature
        self.column = column

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> str | tuple[object, ...]:
        return (Exception.__new__, (type(self),), self.__dict__)


class MissingSchemaError(StoreDatabaseError):
    """A feature's table or one of its columns is missing: run the migrations."""


def _driver_error(exc: BaseException) -> BaseException:
    orig = getattr(exc, "orig", None)
    return orig if isinstance(orig, BaseException) else exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _named_column(text: str, table: sa.Table | None) -> str | None:
    if table is None:
        return None
    for column in table.c:
        if re.search(rf"""["'.`\s(]{re.escape(column.name)}["'`\s),:]|{column.name}$""", text):
            return column.name
    return None


@contextmanager
def translated_errors(
    backend: Backend, action: str, feature: str, table: sa.Table | None
) -> Iterator[None]:
    """Turn database errors raised inside the block into metaxy-orm's exceptions."""
    try:
        yield
    except MetaxyError:
        raise
    except Exception as exc:
        if not isinstance(exc, (sa.exc.DBAPIError, *backend.driver_errors())):
            raise
        known = backend.translate_error(exc) if isinstance(exc, sa.exc.DBAPIError) else None
        if known is not None:  # an error the backend explains better (a locked file, ...)
            raise known from exc
        orig = _driver_error(exc)
        detail = _first_line(orig)
        where = f"{action} of feature '{feature}'"
        if table is not None:
            where += f" (table '{table.name}')"
        statement = getattr(exc, "statement", None)
        if backend.is_missing_schema(orig):
            raise MissingSchemaError(
                f"{where}: the table or one of its columns does not exist in the database "
                f"({detail}). {_MIGRATE}.",
                orig=orig,
                feature=feature,
                statement=statement,
            ) from exc
        column = backend.error_column(orig) or _named_column(str(orig), table)
        about = f" column '{column}':" if column else ""
        raise StoreDatabaseError(
            f"{where}:{about} the database refused it: {detail}. Nothing was written by this "
            "call (its transaction was rolled back, or the caller's transaction is now "
            "failed and must be rolled back).",
            orig=orig,
            feature=feature,
            column=column,
            statement=statement,
        ) from exc
