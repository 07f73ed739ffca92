"""``MetadataStore(target)``: URL, Engine, Connection, Session; hash settings; lazy increments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from sqlmodel import Session

import metaxy_orm as mx
from example_app.pipeline import VideoPipeline
from metaxy_orm._backends import REGISTRY

from .conftest import (
    AUDIO,
    FRAMES,
    N_SAMPLES,
    root_samples,
    run_workflow,
    sample_uid,
    uids,
)


def committed_rows(engine: sa.Engine, feature: type[mx.Feature]) -> int:
    """Rows visible to a new connection (i.e. committed), through another store."""
    return mx.MetadataStore(engine).read(feature, history=True).height


def test_url_target(database_url: str, pipeline: VideoPipeline, engine: sa.Engine) -> None:
    with mx.MetadataStore(database_url) as store:
        dialect = sa.make_url(database_url).get_backend_name()
        assert [r.name for r in REGISTRY if dialect in r.dialects] == [store.backend.name]
        run_workflow(store, pipeline, root_samples())
        assert store.read(pipeline.face_detection).height == N_SAMPLES
    assert committed_rows(engine, pipeline.stt) == N_SAMPLES


def test_engine_target(engine: sa.Engine, pipeline: VideoPipeline) -> None:
    store = mx.MetadataStore(engine)
    run_workflow(store, pipeline, root_samples())
    assert committed_rows(engine, pipeline.crop) == N_SAMPLES


def test_connection_target(engine: sa.Engine, pipeline: VideoPipeline) -> None:
    video = pipeline.video
    with engine.connect() as conn:
        store = mx.MetadataStore(conn)
        # outside a transaction the store commits its own
        store.write(video, root_samples(5))
        assert committed_rows(engine, video) == 5
        # inside the caller's transaction the caller decides
        transaction = conn.begin()
        store.write(video, root_samples(3, start=5))
        assert store.read(video).height == 8
        transaction.rollback()
        # without transactions (ClickHouse) every write is committed when it returns
        assert store.read(video).height == (5 if store.backend.transactional else 8)
        with conn.begin():
            inc = store.resolve_update(video, samples=root_samples(10))
            start = 5 if store.backend.transactional else 8
            assert uids(inc.new) == {sample_uid(i) for i in range(start, 10)}
            store.write(video, inc.new)
    assert committed_rows(engine, video) == 10


def test_session_target_commit_and_rollback(engine: sa.Engine, pipeline: VideoPipeline) -> None:
    video, crop, _, _ = pipeline
    with Session(engine) as session:
        store = mx.MetadataStore(session)
        run_workflow(store, pipeline[:2], root_samples(6))
        # visible inside the session before the commit
        assert store.read(crop).height == 6
        session.commit()
    assert committed_rows(engine, video) == 6
    assert committed_rows(engine, crop) == 6

    with Session(engine) as session:
        store = mx.MetadataStore(session)
        inc = store.resolve_update(video, samples=root_samples(9))
        assert uids(inc.new) == {sample_uid(i) for i in range(6, 9)}
        store.write(video, inc.new)
        assert store.read(video).height == 9
        session.rollback()
        kept = 6 if store.backend.transactional else 9  # ClickHouse: written is written
        assert store.read(video).height == kept
    assert committed_rows(engine, video) == kept


def test_session_sees_orm_changes(engine: sa.Engine, pipeline: VideoPipeline) -> None:
    """The store works inside the session's transaction, next to ORM objects."""
    video = pipeline.video
    with Session(engine) as session:
        store = mx.MetadataStore(session)
        store.write(video, root_samples(2))
        objects = session.exec(mx.latest(video)).all()
        assert len(objects) == 2
        session.commit()
    assert committed_rows(engine, video) == 2


def test_unsupported_targets(pipeline: VideoPipeline) -> None:
    with pytest.raises(TypeError, match="MetadataStore"):
        mx.MetadataStore(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("algorithm", ["blake3", "MD5 ", "", "xxhash64", "xxhash32", "xxh3_64"])
def test_unsupported_hash_algorithms_fail_at_construction(
    engine: sa.Engine, algorithm: str
) -> None:
    with pytest.raises(mx.UnsupportedHashAlgorithmError) as info:
        mx.MetadataStore(engine, hash_algorithm=algorithm)
    assert repr(algorithm) in str(info.value) or f"'{algorithm}'" in str(info.value)
    assert "md5" in str(info.value)  # names what is available


@pytest.mark.parametrize("truncation", [7, 65, 0])
def test_truncation_out_of_range(engine: sa.Engine, truncation: int) -> None:
    with pytest.raises(ValueError, match="hash_truncation_length"):
        mx.MetadataStore(engine, hash_truncation_length=truncation)


def test_hash_settings_are_reported(engine: sa.Engine) -> None:
    store = mx.MetadataStore(
        engine, hash_algorithm=mx.HashAlgorithm.SHA256, hash_truncation_length=16
    )
    assert store.hash_algorithm == mx.HashAlgorithm.SHA256
    assert store.hash_truncation_length == 16


# -- lazy increments -----------------------------------------------------------------------


def messy_state(engine: sa.Engine, store: mx.MetadataStore, pipeline: VideoPipeline) -> None:
    """Crop has new, stale and orphaned samples at once."""
    video = pipeline.video
    run_workflow(store, pipeline, root_samples())
    samples = root_samples(N_SAMPLES + 2, audio={sample_uid(4): "changed"})
    store.write(video, store.resolve_update(video, samples=samples).to_compute)
    table = video.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(sa.delete(table).where(table.c.sample_uid == sample_uid(0)))


def run_lazy(conn: sa.Connection, select: sa.Select[Any]) -> list[dict[str, Any]]:
    rows = [dict(r._mapping) for r in conn.execute(select)]
    return sorted(rows, key=lambda r: r["sample_uid"])


def test_lazy_selects_give_the_eager_rows(
    engine: sa.Engine, store: mx.MetadataStore, pipeline: VideoPipeline
) -> None:
    messy_state(engine, store, pipeline)
    for feature in pipeline[1:]:
        eager = store.resolve_update(feature)
        lazy = store.resolve_update(feature, lazy=True)
        assert isinstance(lazy, mx.LazyIncrement)
        with engine.connect() as conn:
            store.backend.prepare(conn)  # SQLite: the hash functions of this connection
            for status in ("new", "stale", "orphaned"):
                expected = getattr(eager, status)
                rows = run_lazy(conn, getattr(lazy, status))
                assert rows == expected.to_dicts(), (feature.feature_key(), status)
    crop = store.resolve_update(pipeline.crop)
    assert (crop.new.height, crop.stale.height, crop.orphaned.height) == (2, 1, 1)


def test_lazy_selects_run_on_a_fresh_connection(
    engine: sa.Engine, store: mx.MetadataStore, pipeline: VideoPipeline
) -> None:
    """A LazyIncrement is plain SQL: it runs on any new connection of the store's engine
    (on SQLite too, whose hash functions must then be there without calling the store)."""
    messy_state(engine, store, pipeline)
    lazy = store.resolve_update(pipeline.crop, lazy=True)
    eager = store.resolve_update(pipeline.crop)
    engine.dispose()  # the next connection is a new DBAPI connection
    with engine.connect() as conn:
        assert run_lazy(conn, lazy.stale) == eager.stale.to_dicts()


def test_lazy_root_with_samples_in_the_database(
    engine: sa.Engine, store: mx.MetadataStore, pipeline: VideoPipeline
) -> None:
    video = pipeline.video
    run_workflow(store, pipeline, root_samples())
    samples = root_samples(N_SAMPLES + 3, audio={sample_uid(2): "changed"}).filter(
        pl.col("sample_uid") != sample_uid(7)
    )
    metadata = sa.MetaData()
    table = sa.Table(
        "incoming_samples",
        metadata,
        sa.Column("sample_uid", sa.String, primary_key=True),
        sa.Column(AUDIO, sa.String),
        sa.Column(FRAMES, sa.String),
    )
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(table), samples.drop("path").to_dicts())

    eager = store.resolve_update(video, samples=samples.drop("path"))
    assert uids(eager.new) == {sample_uid(i) for i in range(N_SAMPLES, N_SAMPLES + 3)}
    assert uids(eager.stale) == {sample_uid(2)}
    assert uids(eager.orphaned) == {sample_uid(7)}
    from_table = store.resolve_update(video, samples=table)
    lazy = store.resolve_update(video, samples=table, lazy=True)
    with engine.connect() as conn:
        store.backend.prepare(conn)
        for status in ("new", "stale", "orphaned"):
            expected = getattr(eager, status)
            assert getattr(from_table, status).equals(expected), status
            assert run_lazy(conn, getattr(lazy, status)) == expected.to_dicts(), status
        subquery = sa.select(table).where(table.c.sample_uid != sample_uid(3)).subquery()
        lazy_sub = store.resolve_update(video, samples=subquery, lazy=True)
        assert {r["sample_uid"] for r in run_lazy(conn, lazy_sub.orphaned)} == {
            sample_uid(3),
            sample_uid(7),
        }


def test_lazy_root_refuses_in_memory_samples(
    store: mx.MetadataStore, pipeline: VideoPipeline
) -> None:
    with pytest.raises(mx.InvalidRowsError, match="lazy"):
        store.resolve_update(pipeline.video, samples=root_samples(), lazy=True)


def test_default_target_is_the_environment_url_or_embedded_duckdb(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("METAXY_ORM_DATABASE_URL", raising=False)
    with mx.MetadataStore() as store:
        assert store.backend.name == "duckdb"
        with store._db.begin() as conn:
            assert conn.exec_driver_sql("select 1").scalar() == 1
    assert (tmp_path / "metaxy.duckdb").exists()
    monkeypatch.setenv("METAXY_ORM_DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    with mx.MetadataStore() as store:
        assert store.backend.name == "sqlite"
