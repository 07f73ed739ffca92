"""``AsyncMetadataStore``: the store for asyncio code (an ``AsyncEngine`` or an ``AsyncSession``).

It is a twin of :class:`~metaxy_orm.MetadataStore`, not a second implementation: each call runs
the sync store on the greenlet-adapted connection of SQLAlchemy's asyncio extension
(``AsyncConnection.run_sync`` / ``AsyncSession.run_sync``), so the statements, checks and
answers are exactly those of the sync store and the event loop is never blocked on I/O.

Drivers: ``postgresql+psycopg_async://`` (or ``+asyncpg``), ``sqlite+aiosqlite://``. DuckDB has
no asyncio driver: use the sync store from a thread (FastAPI runs ``def`` endpoints in one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from metaxy_orm.exceptions import StoreTargetError
from metaxy_orm.hashing import HashAlgorithm
from metaxy_orm.store.metadata_store import MetadataStore
from metaxy_orm.versioning import DEFAULT_TRUNCATION

if TYPE_CHECKING:
    import polars as pl
    from sqlalchemy.orm import Session

    from metaxy_orm.feature import Feature
    from metaxy_orm.frames import Rows
    from metaxy_orm.graph import FeatureGraph
    from metaxy_orm.increment import Increment, LazyIncrement
    from metaxy_orm.store.status import FeatureStatus

__all__ = ["AsyncMetadataStore", "AsyncTarget"]

#: What ``AsyncMetadataStore(target)`` accepts.
AsyncTarget = AsyncEngine | AsyncConnection | AsyncSession

T = TypeVar("T")


class AsyncMetadataStore:
    """:class:`~metaxy_orm.MetadataStore` for asyncio: the same methods, awaited.

    ``target`` is an ``AsyncEngine`` (one transaction per call, committed on success), an
    ``AsyncConnection`` or an ``AsyncSession`` (the store works inside the caller's transaction
    and never commits)::

        engine = create_async_engine("postgresql+psycopg_async://.../db")
        store = mx.AsyncMetadataStore(engine)
        inc = await store.resolve_update(Crop)
        await store.write(Crop, rows)
    """

    def __init__(
        self,
        target: AsyncTarget,
        *,
        hash_algorithm: str | HashAlgorithm = HashAlgorithm.MD5,
        hash_truncation_length: int = DEFAULT_TRUNCATION,
    ) -> None:
        if not isinstance(target, AsyncEngine | AsyncConnection | AsyncSession):
            raise StoreTargetError(
                "AsyncMetadataStore(target): expected an AsyncEngine, an AsyncConnection or an "
                f"AsyncSession, got {type(target).__name__}; for a URL, Engine or Session use "
                "MetadataStore"
            )
        self._target = target
        self._options: dict[str, Any] = {
            "hash_algorithm": hash_algorithm,
            "hash_truncation_length": hash_truncation_length,
        }

    async def _run(self, call: Callable[[MetadataStore], T]) -> T:
        """Run ``call`` with a sync store on the target's greenlet-adapted connection."""

        def on_connection(conn: sa.Connection) -> T:
            return call(MetadataStore(conn, **self._options))

        def on_session(session: Session) -> T:
            return call(MetadataStore(session, **self._options))

        target = self._target
        if isinstance(target, AsyncSession):
            return await target.run_sync(on_session)
        if isinstance(target, AsyncConnection):
            return await target.run_sync(on_connection)
        async with target.begin() as conn:
            return await conn.run_sync(on_connection)

    @overload
    async def resolve_update(
        self,
        feature: type[Feature],
        samples: Rows | sa.FromClause | None = ...,
        *,
        lazy: Literal[False] = ...,
        verify: bool = ...,
    ) -> Increment: ...

    @overload
    async def resolve_update(
        self,
        feature: type[Feature],
        samples: Rows | sa.FromClause | None = ...,
        *,
        lazy: Literal[True],
        verify: bool = ...,
    ) -> LazyIncrement: ...

    async def resolve_update(
        self,
        feature: type[Feature],
        samples: Rows | sa.FromClause | None = None,
        *,
        lazy: bool = False,
        verify: bool = False,
    ) -> Increment | LazyIncrement:
        """:meth:`MetadataStore.resolve_update`, awaited."""
        if lazy:
            return await self._run(lambda s: s.resolve_update(feature, samples, lazy=True))
        return await self._run(lambda s: s.resolve_update(feature, samples, verify=verify))

    async def write(
        self, feature: type[Feature], rows: Rows, *, materialization_id: str | None = None
    ) -> int:
        """:meth:`MetadataStore.write`, awaited: all rows or none."""
        return await self._run(
            lambda s: s.write(feature, rows, materialization_id=materialization_id)
        )

    async def read(self, feature: type[Feature], *, history: bool = False) -> pl.DataFrame:
        """:meth:`MetadataStore.read`, awaited."""
        return await self._run(lambda s: s.read(feature, history=history))

    async def status(
        self,
        feature: type[Feature] | None = None,
        *,
        graph: FeatureGraph | None = None,
        verify: bool = False,
    ) -> list[FeatureStatus]:
        """:meth:`MetadataStore.status`, awaited."""
        return await self._run(lambda s: s.status(feature, graph=graph, verify=verify))

    def __repr__(self) -> str:
        return f"AsyncMetadataStore({type(self._target).__name__})"
