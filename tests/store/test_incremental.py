"""Incremental ``resolve_update`` and ``status``: the same answers as the full computation.

Every case compares the incremental answer with ``verify=True`` (the full computation), and
checks which path the store took through its inspection hook, ``store._states.last_path``
(``"unchanged"``, ``"incremental"`` or ``"full"`` per feature key; ``"carried"`` after a write
that carried the state): the incremental path must be taken where it is provable, and never
where it is not.
"""

from __future__ import annotations

import datetime
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

import metaxy_orm as mx
from example_app.pipeline import VideoPipeline
from metaxy_orm._sql.fingerprints import STATE_TABLE, state_table
from metaxy_orm.columns import CREATED_AT

from .conftest import (
    AUDIO,
    FRAMES,
    define_joined,
    redefined_pipeline,
    root_samples,
    sample_uid,
)


def path_of(store: mx.MetadataStore, feature: type[mx.Feature]) -> str:
    return store._states.last_path[str(feature.feature_key())]


def frames_of(inc: mx.Increment) -> list[pl.DataFrame]:
    return [inc.new, inc.stale, inc.orphaned]


def assert_incremental_exact(
    store: mx.MetadataStore, feature: type[mx.Feature], *, path: str | None = None
) -> mx.Increment:
    """The incremental answer (resolve and status) equals the full one; the path taken."""
    inc = store.resolve_update(feature)
    taken = path_of(store, feature)
    full = store.resolve_update(feature, verify=True)
    assert path_of(store, feature) == "full"
    for got, want in zip(frames_of(inc), frames_of(full), strict=True):
        assert got.equals(want), (got, want)
    status = store.status(feature)[0]
    assert status == store.status(feature, verify=True)[0]
    assert (status.new, status.stale, status.orphaned) == (
        full.new.height,
        full.stale.height,
        full.orphaned.height,
    )
    if path is not None:
        assert taken == path
    return inc


def update_root(store: mx.MetadataStore, video: type[mx.Feature], changed: list[int]) -> None:
    audio = {sample_uid(i): f"audio-v2-{i}" for i in changed}
    inc = store.resolve_update(video, root_samples(audio=audio))
    assert inc.stale.height == len(changed)
    store.write(video, inc.stale)


def test_noop_answers_from_the_stored_state(
    store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame, engine: sa.Engine
) -> None:
    for feature in pipeline[1:]:
        assert_incremental_exact(store, feature)
        inc = store.resolve_update(feature)
        assert path_of(store, feature) == "unchanged"
        assert inc.is_empty()
        # a fresh store (a fresh process): the state comes from the database
        fresh = mx.MetadataStore(engine)
        assert fresh.resolve_update(feature).is_empty()
        assert path_of(fresh, feature) == "unchanged"
        fresh.status(feature)
        assert path_of(fresh, feature) == "unchanged"
    with engine.connect() as conn:
        stored = conn.execute(sa.text(f"SELECT feature FROM {STATE_TABLE}")).scalars().all()
    assert {"crop", "face_detection", "stt"} <= set(stored)


def test_append_to_parent_reverifies_only_touched_samples(
    store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame
) -> None:
    video, crop, face_detection, stt = pipeline
    for feature in pipeline[1:]:
        store.resolve_update(feature)  # a state under the current rows
    update_root(store, video, [1, 5])
    for feature in (crop, stt):
        inc = assert_incremental_exact(store, feature, path="incremental")
        assert set(inc.stale["sample_uid"]) == {sample_uid(1), sample_uid(5)}
        assert inc.new.is_empty()
        assert inc.orphaned.is_empty()
    store.write(crop, store.resolve_update(crop).stale)
    # audio changed: face_detection (frames only) stays in sync, through the touched samples
    assert_incremental_exact(store, face_detection, path="incremental")
    assert store.resolve_update(face_detection).is_empty()
    # the write of crop's increment carried its state: in sync, nothing to verify again
    assert assert_incremental_exact(store, crop, path="unchanged").is_empty()


def test_status_is_incremental_too(
    store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame
) -> None:
    video, crop, _, stt = pipeline
    store.status()
    update_root(store, video, [2, 3, 4])
    store.write(stt, store.resolve_update(stt, verify=True).stale.head(1))
    for feature in (crop, stt):
        status = store.status(feature)[0]
        assert path_of(store, feature) == "incremental"
        assert status == store.status(feature, verify=True)[0]
    assert store.status(crop)[0].stale == 3
    assert store.status(stt)[0].stale == 2
    root = store.status(video)[0]
    assert (root.rows, root.samples) == (24 + 3, 24)


def test_partial_write_keeps_the_samples_not_written(
    store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame
) -> None:
    video, crop, _, _ = pipeline
    update_root(store, video, [0, 1, 2, 3])
    stale = store.resolve_update(crop).stale
    store.write(crop, stale.head(1))  # the user writes only part of the increment
    inc = assert_incremental_exact(store, crop)
    assert inc.stale.height == 3
    store.write(crop, inc.stale.head(2))
    assert assert_incremental_exact(store, crop).stale.height == 1
    status = store.status(crop)[0]
    assert status.stale == 1


def test_a_write_of_the_increment_carries_the_state(
    store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame, engine: sa.Engine
) -> None:
    video, crop, _, _ = pipeline
    update_root(store, video, [1, 5])
    store.write(crop, store.resolve_update(crop).to_compute)
    assert path_of(store, crop) == "carried"
    # the written rows are not verified again: the state moved forward with them
    assert store.resolve_update(crop).is_empty()
    assert path_of(store, crop) == "unchanged"
    fresh = mx.MetadataStore(engine)  # the carried state is in the database
    assert fresh.resolve_update(crop).is_empty()
    assert path_of(fresh, crop) == "unchanged"
    audio = {sample_uid(i): f"audio-v2-{i}" for i in (1, 2, 5)}  # 1 and 5 as before
    store.write(video, store.resolve_update(video, root_samples(audio=audio)).stale)
    inc = assert_incremental_exact(store, crop, path="incremental")
    assert list(inc.stale["sample_uid"]) == [sample_uid(2)]


def test_the_sample_count_is_carried_so_status_counts_nothing(
    store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame, engine: sa.Engine
) -> None:
    video, crop, _, stt = pipeline
    # `computed` resolved each feature on its empty table (no sample: no count needed) and
    # wrote its increment: the carried states know the samples without a count query
    for feature in (crop, stt):
        assert path_of(store, feature) == "carried"
        assert store._states.cache[str(feature.feature_key())].samples == computed.height
    update_root(store, video, [1, 5])
    store.write(crop, store.resolve_update(crop).to_compute)  # parents moved, not crop's rows
    assert store._states.cache["crop"].samples == computed.height
    for feature in (crop, stt):
        fresh = mx.MetadataStore(engine)
        status = fresh.status(feature)[0]
        assert path_of(fresh, feature) in {"unchanged", "incremental"}
        assert status == fresh.status(feature, verify=True)[0]
        assert status.samples == computed.height


def test_a_write_that_is_not_the_increment_is_not_carried(
    store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame
) -> None:
    video, crop, _, _ = pipeline
    update_root(store, video, [1, 5, 6])
    todo = store.resolve_update(crop).to_compute
    # another provenance than the one asked for (the user's own value)
    changed = todo.with_columns(
        pl.when(pl.col("sample_uid") == sample_uid(5))
        .then(pl.lit("mine"))
        .otherwise(pl.col("metaxy_provenance__audio"))
        .alias("metaxy_provenance__audio")
    ).drop("metaxy_provenance")
    store.write(crop, changed)
    assert path_of(store, crop) != "carried"
    inc = assert_incremental_exact(store, crop)
    assert list(inc.stale["sample_uid"]) == [sample_uid(5)]
    # part of the increment only
    audio = {sample_uid(i): f"audio-v2-{i}" for i in (1, 5, 6, 7, 8)}  # 7 and 8 change
    store.write(video, store.resolve_update(video, root_samples(audio=audio)).stale)
    store.write(crop, store.resolve_update(crop).to_compute.head(2))
    assert path_of(store, crop) != "carried"
    assert assert_incremental_exact(store, crop).stale.height == 1  # of 5, 7 and 8


def test_a_write_after_another_writers_rows_is_not_carried(
    store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame, engine: sa.Engine
) -> None:
    video, crop, _, _ = pipeline
    update_root(store, video, [1, 2])
    todo = store.resolve_update(crop).to_compute
    other = mx.MetadataStore(engine)
    other.write(crop, other.resolve_update(crop).to_compute.head(1))  # between resolve and write
    store.write(crop, todo)
    assert path_of(store, crop) != "carried"
    assert assert_incremental_exact(store, crop).is_empty()


def test_orphans_stay_orphaned_across_a_carried_write(
    store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame, engine: sa.Engine
) -> None:
    video, crop, _, _ = pipeline
    vtable = video.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(sa.delete(vtable).where(vtable.c.sample_uid == sample_uid(9)))
    update_root(store, video, [3])
    inc = store.resolve_update(crop)
    assert (inc.stale.height, inc.orphaned.height) == (1, 1)
    store.write(crop, inc.to_compute)
    assert path_of(store, crop) == "carried"
    inc = assert_incremental_exact(store, crop)
    assert (inc.stale.height, list(inc.orphaned["sample_uid"])) == (0, [sample_uid(9)])


def test_a_root_resolved_again_for_the_same_samples_answers_from_its_state(
    store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame, engine: sa.Engine
) -> None:
    video = pipeline[0]

    def exact(samples: pl.DataFrame, path: str) -> mx.Increment:
        inc = store.resolve_update(video, samples)
        assert path_of(store, video) == path
        full = store.resolve_update(video, samples, verify=True)
        for got, want in zip(frames_of(inc), frames_of(full), strict=True):
            assert got.equals(want), (got, want)
        return inc

    # the fixture resolved these samples and wrote their increment: the state was carried
    assert exact(computed, "unchanged").is_empty()
    changed = root_samples(audio={sample_uid(3): "audio-v9"})
    inc = exact(changed, "full")
    assert list(inc.stale["sample_uid"]) == [sample_uid(3)]
    store.write(video, inc.to_compute)
    assert path_of(store, video) == "carried"
    assert exact(changed, "unchanged").is_empty()
    fresh = mx.MetadataStore(engine)  # the state is in the database
    assert fresh.resolve_update(video, changed).is_empty()
    assert path_of(fresh, video) == "unchanged"
    # the root's status keeps its own state and reports no new/stale/orphaned counts
    root = store.status(video)[0]
    assert (root.samples, root.new, root.stale, root.orphaned) == (24, None, None, None)
    assert exact(changed, "unchanged").is_empty()
    # fewer samples given: orphans, never "unchanged"
    inc = exact(changed.head(20), "full")
    assert inc.orphaned.height == 4
    assert exact(changed.head(20), "full").orphaned.height == 4
    # a row deleted by raw SQL: compared in full
    table = video.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(sa.delete(table).where(table.c.sample_uid == sample_uid(0)))
    assert exact(changed, "full").new.height == 1


def test_raw_delete_falls_back_to_the_full_computation(
    store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame, engine: sa.Engine
) -> None:
    video, crop, _, _ = pipeline
    assert_incremental_exact(store, crop)
    table = crop.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(sa.delete(table).where(table.c.sample_uid == sample_uid(7)))
    inc = assert_incremental_exact(store, crop, path="full")
    assert list(inc.new["sample_uid"]) == [sample_uid(7)]
    # a parent row deleted: the child sample is orphaned
    vtable = video.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(sa.delete(vtable).where(vtable.c.sample_uid == sample_uid(9)))
    inc = assert_incremental_exact(store, crop, path="full")
    assert list(inc.orphaned["sample_uid"]) == [sample_uid(9)]


def test_cleanup_falls_back_to_the_full_computation(
    store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame
) -> None:
    video, crop, _, _ = pipeline
    update_root(store, video, [3])
    store.write(crop, store.resolve_update(crop).stale)
    assert assert_incremental_exact(store, crop).is_empty()
    assert store.cleanup(video) == 1
    assert assert_incremental_exact(store, crop, path="full").is_empty()


def test_late_commit_with_an_older_write_time_is_seen(
    store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame, engine: sa.Engine
) -> None:
    video, crop, _, _ = pipeline
    assert assert_incremental_exact(store, crop).is_empty()
    # a row of a new sample, written by raw SQL with a write time before the watermark (as a
    # transaction that began before the last resolve and committed after it)
    row = store.read(video).row(0, named=True)
    row |= {
        "sample_uid": "late",
        CREATED_AT: datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC),
    }
    table = video.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(sa.insert(table).values(row))
    inc = assert_incremental_exact(store, crop, path="full")
    assert list(inc.new["sample_uid"]) == ["late"]


def test_in_place_update_by_raw_sql_is_seen(
    store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame, engine: sa.Engine
) -> None:
    video, crop, _, _ = pipeline
    assert assert_incremental_exact(store, crop).is_empty()
    table = video.__table__  # type: ignore[attr-defined]
    column = table.c["metaxy_data_version__audio"]
    update = sa.update(table).where(table.c.sample_uid == sample_uid(4)).values({column: "x"})
    with engine.begin() as conn:
        if store.backend.transactional:
            conn.execute(update)
        else:  # ClickHouse: an UPDATE is a mutation, asynchronous unless told to wait for it
            conn.execute(
                sa.text(
                    f"ALTER TABLE {table.name} UPDATE {column.name} = 'x' "
                    f"WHERE sample_uid = '{sample_uid(4)}' SETTINGS mutations_sync = 2"
                )
            )
    inc = assert_incremental_exact(store, crop, path="full")
    assert list(inc.stale["sample_uid"]) == [sample_uid(4)]


def test_code_version_bump_computes_in_full(
    engine: sa.Engine, store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame
) -> None:
    assert assert_incremental_exact(store, pipeline.crop).is_empty()
    with redefined_pipeline({"crop.frames": "2"}) as bumped:
        bumped_store = mx.MetadataStore(engine)
        inc = assert_incremental_exact(bumped_store, bumped.crop, path="full")
        assert inc.stale.height == 24
        # and the new version's state serves the next resolve
        assert bumped_store.resolve_update(bumped.crop).stale.height == 24
        assert path_of(bumped_store, bumped.crop) == "full"  # out of sync: only counts kept
        bumped_store.write(bumped.crop, inc.stale)
        assert assert_incremental_exact(bumped_store, bumped.crop).is_empty()
        assert bumped_store.resolve_update(bumped.crop).is_empty()
        assert path_of(bumped_store, bumped.crop) == "unchanged"


def test_verify_always_computes_in_full(
    store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame
) -> None:
    crop = pipeline.crop
    store.resolve_update(crop)
    store.resolve_update(crop)
    assert path_of(store, crop) == "unchanged"
    assert store.resolve_update(crop, verify=True).is_empty()
    assert path_of(store, crop) == "full"
    store.status(crop, verify=True)
    assert path_of(store, crop) == "full"


def test_new_root_samples_reach_the_children(
    store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame
) -> None:
    video, crop, _, _ = pipeline
    assert assert_incremental_exact(store, crop).is_empty()
    more = pl.concat([computed, root_samples(2, start=100)])
    store.write(video, store.resolve_update(video, more).new)
    inc = assert_incremental_exact(store, crop, path="incremental")
    assert list(inc.new["sample_uid"]) == [sample_uid(100), sample_uid(101)]
    assert set(inc.new.columns) >= {AUDIO, FRAMES}


def test_several_parents_optional_select_and_rename(
    engine: sa.Engine, store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame
) -> None:
    video, crop, _, stt = pipeline

    Joined = define_joined(crop, stt)

    Joined.__table__.create(engine)  # type: ignore[attr-defined]
    store.write(Joined, store.resolve_update(Joined).new)
    assert assert_incremental_exact(store, Joined).is_empty()
    update_root(store, video, [6])
    store.write(stt, store.resolve_update(stt).stale)  # only the optional parent moves
    inc = assert_incremental_exact(store, Joined, path="incremental")
    assert list(inc.stale["sample_uid"]) == [sample_uid(6)]
    store.write(crop, store.resolve_update(crop).stale)
    inc = assert_incremental_exact(store, Joined, path="incremental")
    assert list(inc.stale["sample_uid"]) == [sample_uid(6)]
    assert "crop_path" in inc.stale.columns


def test_filters_compute_in_full(
    engine: sa.Engine, store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame
) -> None:
    video = pipeline.video

    class Filtered(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="filtered",
            id_columns=["sample_uid"],
            deps=[mx.FeatureDep(feature=video, filters=["sample_uid < 's010'"])],
            fields=[mx.FieldSpec(key="x", code_version="1")],
        ),
    ):
        sample_uid: str

    Filtered.__table__.create(engine)  # type: ignore[attr-defined]
    inc = store.resolve_update(Filtered)
    assert inc.new.height == 10
    assert Filtered.feature_key().to_string() not in store._states.last_path


@pytest.mark.only_backends("duckdb", "sqlite")
def test_a_read_only_database_computes_in_full(
    database_url: str,
    engine: sa.Engine,
    store: mx.MetadataStore,
    pipeline: VideoPipeline,
    computed: pl.DataFrame,
) -> None:
    """Where the state table cannot be created, every answer is the full computation."""
    crop = pipeline.crop
    update_root(store, pipeline.video, [2])
    with engine.begin() as conn:
        state_table(store.backend).drop(conn)
    engine.dispose()
    args: dict[str, object] = {"read_only": True} if store.backend.name == "duckdb" else {}
    url = database_url
    if store.backend.name == "sqlite":
        url = url.replace("sqlite:///", "sqlite:///file:") + "?mode=ro&uri=true"
    read_only_engine = sa.create_engine(url, connect_args=args)
    try:
        read_only = mx.MetadataStore(read_only_engine)
        for _ in range(2):
            inc = read_only.resolve_update(crop)
            assert path_of(read_only, crop) == "full"
            assert list(inc.stale["sample_uid"]) == [sample_uid(2)]
        assert read_only.status(crop)[0].stale == 1
        with read_only_engine.connect() as conn:
            assert not sa.inspect(conn).has_table(STATE_TABLE)
    finally:
        read_only_engine.dispose()


@pytest.mark.only_backends("postgresql", "sqlite")
def test_async_store_takes_verify(
    database_url: str, store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame
) -> None:
    """The async twin passes ``verify=`` through (and its answers are incremental too)."""
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    drivers = {"postgresql": "psycopg_async", "sqlite": "aiosqlite"}
    url = sa.make_url(database_url)
    url = url.set(drivername=f"{url.get_backend_name()}+{drivers[store.backend.name]}")
    update_root(store, pipeline.video, [8])

    async def run() -> None:
        aengine = create_async_engine(url)
        try:
            astore = mx.AsyncMetadataStore(aengine)
            full = await astore.resolve_update(pipeline.crop, verify=True)
            inc = await astore.resolve_update(pipeline.crop)
            assert full.stale.equals(inc.stale)
            assert list(inc.stale["sample_uid"]) == [sample_uid(8)]
            statuses = await astore.status(pipeline.crop, verify=True)
            assert statuses[0].stale == 1
        finally:
            await aengine.dispose()

    asyncio.run(run())


@pytest.mark.only_backends("postgresql")
def test_checksums_do_not_depend_on_the_session_time_zone(
    database_url: str, store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame
) -> None:
    """PostgreSQL hashes the write times as values (a record hash), not as session-formatted
    text: a process in another time zone reads the same fingerprints."""
    crop = pipeline.crop
    assert assert_incremental_exact(store, crop).is_empty()
    url = sa.make_url(database_url)
    options = f"{url.query['options']} -cTimeZone=Asia/Tokyo"
    tokyo = sa.create_engine(url.update_query_dict({"options": options}))
    try:
        with tokyo.connect() as conn:
            assert conn.exec_driver_sql("SHOW TimeZone").scalar() == "Asia/Tokyo"
        other = mx.MetadataStore(tokyo)
        assert other.resolve_update(crop).is_empty()
        assert path_of(other, crop) == "unchanged"
    finally:
        tokyo.dispose()


@pytest.mark.only_backends("postgresql")
def test_a_resolve_reads_one_snapshot_and_gives_the_connection_back_as_it_was(
    engine: sa.Engine, store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame
) -> None:
    """The store's own resolves run under REPEATABLE READ (the fingerprints and the answer read
    one snapshot, so they are not read twice); the pool gets its connections back at the
    server's default level."""
    seen: list[str] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def level(conn: sa.Connection, cursor: Any, statement: str, *args: Any) -> None:
        if "__mx_fingerprints" in statement:
            seen.append(str(conn.get_isolation_level()))

    try:
        assert_incremental_exact(store, pipeline.crop, path="unchanged")
    finally:
        sa.event.remove(engine, "before_cursor_execute", level)
    # resolve, resolve(verify=True), status, status(verify=True): one reading each
    assert seen == ["REPEATABLE READ"] * 4
    with engine.connect() as conn:
        assert conn.get_isolation_level() == "READ COMMITTED"


@pytest.mark.only_backends("postgresql")
def test_the_planner_settings_of_a_callers_transaction_are_put_back(
    engine: sa.Engine, pipeline: VideoPipeline, computed: pl.DataFrame
) -> None:
    """The fingerprints are read with parallel workers priced at zero; a caller's own
    settings hold again for the rest of its transaction."""
    with engine.connect() as conn, conn.begin():
        conn.exec_driver_sql("SET LOCAL parallel_tuple_cost = 0.5")
        inside = mx.MetadataStore(conn)
        assert inside.resolve_update(pipeline.crop).is_empty()
        assert inside.status(pipeline.crop)[0].in_sync
        assert conn.exec_driver_sql("SHOW parallel_tuple_cost").scalar() == "0.5"
        assert conn.exec_driver_sql("SHOW parallel_setup_cost").scalar() == "1000"


@pytest.mark.only_backends("postgresql")
def test_a_state_that_meets_a_serialization_failure_is_skipped_not_given_up(
    engine: sa.Engine, store: mx.MetadataStore, pipeline: VideoPipeline, computed: pl.DataFrame
) -> None:
    """Two resolves of one feature at once under REPEATABLE READ: the later one to save its
    state fails to delete the row the other replaced. It returns its answer, saves nothing,
    and the store keeps its incremental path."""
    crop = pipeline.crop
    store.resolve_update(crop)  # the state row exists
    states = store._states
    stale_state = states.cache["crop"]
    with engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            conn.execute(sa.select(sa.func.count()).select_from(state_table(store.backend)))
            other = mx.MetadataStore(engine)
            other.resolve_update(crop, verify=True)  # replaces the row, commits
            states.save(conn, "crop", stale_state)
    assert not states.disabled
    assert store.resolve_update(crop).is_empty()
    assert path_of(store, crop) == "unchanged"


@pytest.mark.only_backends("postgresql")
def test_columns_without_a_hash_operator_enter_the_checksum_as_text(
    bare_store: mx.MetadataStore, graph: mx.FeatureGraph, engine: sa.Engine
) -> None:
    """A selected upstream column of a type PostgreSQL cannot hash (``json``) still counts."""
    from sqlmodel import Column, Field

    spec = mx.FeatureSpec(key="doc", id_columns=["sample_uid"], fields=["body"])

    class Doc(mx.Feature, table=True, spec=spec):
        sample_uid: str
        meta: dict[str, str] | None = Field(default=None, sa_column=Column(sa.JSON))

    child_spec = mx.FeatureSpec(
        key="summary",
        id_columns=["sample_uid"],
        deps=[mx.FeatureDep(feature=Doc, select=["meta"])],
        fields=["text"],
    )

    class Summary(mx.Feature, table=True, spec=child_spec):
        sample_uid: str
        meta: dict[str, str] | None = Field(default=None, sa_column=Column(sa.JSON))

    mx.metadata_of(graph).create_all(engine)
    rows = [
        {"sample_uid": f"d{i}", "meta": {"lang": "en"}, "metaxy_provenance__body": f"b{i}"}
        for i in range(3)
    ]
    bare_store.write(Doc, rows)
    bare_store.write(Summary, bare_store.resolve_update(Summary).to_compute.drop("meta"))
    assert bare_store.resolve_update(Summary).is_empty()
    assert path_of(bare_store, Summary) == "unchanged"
    table = Doc.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:  # a raw change of the JSON value only
        conn.execute(sa.update(table).where(table.c.sample_uid == "d1").values(meta={"lang": "fr"}))
    assert bare_store.resolve_update(Summary).is_empty()  # meta is carried, not a dependency
    assert path_of(bare_store, Summary) == "full"  # but the change was seen
