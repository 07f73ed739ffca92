"""``AsyncMetadataStore``: the sync store's answers through asyncio drivers."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlmodel import SQLModel

import metaxy_orm as mx
from example_app.demo import compute, video_samples
from example_app.pipeline import define_video_pipeline

#: backend -> asyncio driver
ASYNC_DRIVERS = {"postgresql": "psycopg_async", "sqlite": "aiosqlite"}


#: DuckDB has no asyncio driver: an async app uses the sync store from a thread there.
pytestmark = pytest.mark.only_backends(*ASYNC_DRIVERS)


def async_url(database_url: str, backend: str) -> str:
    url = sa.make_url(database_url)
    return url.set(
        drivername=f"{url.get_backend_name()}+{ASYNC_DRIVERS[backend]}"
    ).render_as_string(hide_password=False)


def test_async_store_answers_as_the_sync_store(
    database_url: str, backend: str, engine: sa.Engine, graph: mx.FeatureGraph
) -> None:
    url = async_url(database_url, backend)
    video, crop, _face_detection, stt = define_video_pipeline()
    SQLModel.metadata.create_all(engine)

    async def run() -> None:
        aengine = create_async_engine(url)
        try:
            store = mx.AsyncMetadataStore(aengine)
            inc = await store.resolve_update(video, video_samples(8))
            assert inc.new.height == 8
            assert await store.write(video, inc.new) == 8
            todo = await store.resolve_update(crop)
            await store.write(crop, compute(crop, todo.new))
            # several coroutines at once, each in its own transaction
            statuses = await asyncio.gather(*(store.status(f) for f in (crop, stt)))
            assert [s[0].in_sync for s in statuses] == [True, False]
            lazy = await store.resolve_update(stt, lazy=True)
            assert isinstance(lazy, mx.LazyIncrement)
            # in a caller's AsyncSession: its transaction, committed by the caller
            async with AsyncSession(aengine) as session:
                in_session = mx.AsyncMetadataStore(session)
                edited = await in_session.resolve_update(video, video_samples(8, frozenset({5})))
                await in_session.write(video, edited.stale)
                await session.rollback()
            assert (await store.resolve_update(crop)).is_empty()
            frame = await store.read(crop)
            assert frame["sample_uid"].to_list() == [f"video-{i:05d}" for i in range(8)]
        finally:
            await aengine.dispose()

    asyncio.run(run())
    sync = mx.MetadataStore(engine)
    assert sync.read(video, history=True).height == 8  # the session's write was rolled back
    assert sync.status(crop)[0].in_sync is True


def test_async_store_refuses_sync_targets(engine: sa.Engine) -> None:
    with pytest.raises(mx.StoreError, match="AsyncEngine"):
        mx.AsyncMetadataStore(engine)  # type: ignore[arg-type]
