"""Where a store's SQL runs: its target (URL, Engine, Connection or Session) and transactions.

A store given a URL owns its engine; given an Engine it opens a transaction per call; given a
Connection or a Session it works inside the caller's transaction and never commits. Every call
of the store goes through :meth:`StoreConnection.begin`, so this is the one place that knows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from metaxy_orm._backends import EMBEDDED_DEFAULT_URL, backend_for
from metaxy_orm.exceptions import StoreTargetError

if TYPE_CHECKING:
    from metaxy_orm._backends import Backend

__all__ = ["DATABASE_URL_VARIABLE", "StoreConnection", "Target"]

#: What ``MetadataStore(target)`` accepts.
Target = str | sa.URL | sa.Engine | sa.Connection | Session

#: The environment variable read when a store is given no target.
DATABASE_URL_VARIABLE = "METAXY_ORM_DATABASE_URL"


class StoreConnection:
    """The database target of a store, its backend, and the transactions of its calls."""

    def __init__(self, target: Target | None) -> None:
        self._owned_engine: sa.Engine | None = None
        self._engine: sa.Engine | None = None
        self._connection: sa.Connection | None = None
        self._session: Session | None = None
        if target is None:
            target = os.environ.get(DATABASE_URL_VARIABLE) or EMBEDDED_DEFAULT_URL
        if isinstance(target, str | sa.URL):
            self._owned_engine = self._engine = sa.create_engine(target)
            dialect = self._engine.dialect
        elif isinstance(target, sa.Engine):
            self._engine = target
            dialect = target.dialect
        elif isinstance(target, sa.Connection):
            self._connection = target
            dialect = target.dialect
        elif isinstance(target, Session):
            self._session = target
            dialect = target.get_bind().dialect
        else:
            raise StoreTargetError(
                "MetadataStore(target): expected a database URL, an Engine, a Connection or a "
                f"Session, got {type(target).__name__}"
            )
        self.backend: Backend = backend_for(dialect)
        engine = self.engine
        if engine is not None:
            self.backend.attach(engine)

    @property
    def engine(self) -> sa.Engine | None:
        """The engine behind the target (``None`` for a Session bound to nothing usable)."""
        if self._engine is not None:
            return self._engine
        if self._connection is not None:
            return self._connection.engine
        bind = self._session.get_bind() if self._session is not None else None
        if isinstance(bind, sa.Connection):
            return bind.engine
        return bind if isinstance(bind, sa.Engine) else None

    def close(self) -> None:
        """Dispose of the engine created from a URL (nothing otherwise)."""
        if self._owned_engine is not None:
            self._owned_engine.dispose()

    @contextmanager
    def begin(self, *, one_snapshot: bool = False) -> Iterator[sa.Connection]:
        """A connection inside a transaction: ours (committed on success) or the caller's.

        ``one_snapshot``: a transaction of the store's own engine reads every statement from
        one snapshot where the backend offers it (:attr:`Backend.snapshot_isolation`), so that
        what a resolve reads first (the fingerprints) and what it computes next describe the
        same rows. A caller's transaction keeps its own isolation.
        """
        if self._session is not None:
            conn = self._session.connection()
            self.backend.prepare(conn)
            yield conn
        elif self._connection is not None:
            conn = self._connection
            self.backend.prepare(conn)
            if conn.in_transaction():
                yield conn
            else:
                with conn.begin():
                    self.backend.tune(conn)
                    yield conn
        else:
            assert self._engine is not None
            with self.connect() as conn:
                level = self.backend.snapshot_isolation if one_snapshot else None
                if level is not None:
                    # reset when the connection returns to the pool
                    conn.execution_options(isolation_level=level)
                with conn.begin():
                    self.backend.prepare(conn)
                    self.backend.tune(conn)
                    yield conn

    def connect(self) -> sa.Connection:
        """A new connection of the engine, with connection errors the backend knows translated
        (e.g. an embedded database file locked by another process)."""
        assert self._engine is not None
        try:
            return self._engine.connect()
        except sa.exc.DBAPIError as exc:
            translated = self.backend.translate_error(exc)
            if translated is None:
                raise
            raise translated from exc
