"""A graph entered with ``with mx.FeatureGraph(): ...`` isolates its features *and* tables.

Each such graph builds its tables in a ``MetaData`` and ORM registry of its own
(``mx.metadata_of``), so one process can hold two versions of the same feature (a test per
version, or two versions compared side by side), nothing global is touched, and nothing is left
behind once the graph is dropped. The default graph keeps ``SQLModel.metadata``.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref
from collections.abc import Mapping

import polars as pl
import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select
from sqlmodel.main import default_registry

import metaxy_orm as mx
from example_app.pipeline import VideoPipeline, define_video_pipeline
from metaxy_orm.graph_tables import registry_of, use_sqlmodel_metadata
from metaxy_orm.testing import isolated_graph

N = 20
SAMPLES = pl.DataFrame(
    {
        "sample_uid": [f"s{i:02d}" for i in range(N)],
        "metaxy_provenance__audio": [f"audio-{i}" for i in range(N)],
        "metaxy_provenance__frames": [f"frames-{i}" for i in range(N)],
    }
)


def define_video(code_version: str = "1") -> type[mx.Feature]:
    class Video(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="video",
            id_columns=["sample_uid"],
            fields=[mx.FieldSpec(key="audio", code_version=code_version)],
        ),
    ):
        sample_uid: str

    return Video


def pipeline_in_graph(code_versions: Mapping[str, str] | None = None) -> VideoPipeline:
    with mx.FeatureGraph():
        return define_video_pipeline(code_versions)


def sqlmodel_state() -> tuple[set[str], set[type]]:
    return set(SQLModel.metadata.tables), {m.class_ for m in default_registry.mappers}


def test_two_versions_of_a_feature_in_one_process() -> None:
    before = sqlmodel_state()
    with mx.FeatureGraph() as first:
        v1 = define_video("1")
    with mx.FeatureGraph() as second:
        v2 = define_video("2")

    assert v1.feature_version() != v2.feature_version()
    table1, table2 = v1.__table__, v2.__table__  # type: ignore[attr-defined]
    assert table1 is not table2
    assert table1.name == table2.name == "video"
    assert mx.metadata_of(first).tables == {"video": table1}
    assert mx.metadata_of(second).tables == {"video": table2}
    assert v1.metadata is mx.metadata_of(first)
    assert registry_of(first) is not registry_of(second)
    assert sqlmodel_state() == before  # SQLModel's metadata and registry untouched


def test_the_default_graph_keeps_sqlmodel_metadata() -> None:
    default = mx.FeatureGraph.get_default()
    assert mx.metadata_of(default) is SQLModel.metadata
    assert registry_of(default) is default_registry
    with mx.FeatureGraph() as fresh:
        assert mx.metadata_of() is mx.metadata_of(fresh) is not SQLModel.metadata


def test_isolated_graph_builds_tables_in_sqlmodel_metadata() -> None:
    """The older helper, for code that reads ``SQLModel.metadata`` itself."""
    with isolated_graph() as graph:
        video = define_video()
        assert mx.metadata_of(graph) is SQLModel.metadata
        assert SQLModel.metadata.tables["video"] is video.__table__  # type: ignore[attr-defined]
    assert "video" not in SQLModel.metadata.tables


def test_sqlmodel_metadata_is_chosen_before_the_first_feature() -> None:
    with mx.FeatureGraph() as graph:
        define_video()
        with pytest.raises(mx.MetaxyError, match="before defining any feature"):
            use_sqlmodel_metadata(graph)


def test_a_graph_leaves_no_trace_once_dropped() -> None:
    before = sqlmodel_state()
    with mx.FeatureGraph() as graph:
        video = define_video()
    refs = [weakref.ref(graph), weakref.ref(video), weakref.ref(mx.metadata_of(graph))]
    del graph, video
    gc.collect()
    assert [ref() for ref in refs] == [None, None, None]
    assert sqlmodel_state() == before


def test_a_refused_feature_leaves_its_graph_tables_as_they_were() -> None:
    with mx.FeatureGraph() as graph:
        define_video()
        tables = dict(mx.metadata_of(graph).tables)
        with pytest.raises(mx.DuplicateFeatureError):
            define_video("2")
        assert dict(mx.metadata_of(graph).tables) == tables
        assert len(graph) == 1


def test_same_class_names_map_without_warnings() -> None:
    """Each graph has its own registry: class names resolve within the graph.

    In one shared registry the second ``Video`` of a module would warn (and warnings are
    errors here) and make ``relationship("Video")`` ambiguous.
    """
    with mx.FeatureGraph() as first:
        define_video("1")
    with mx.FeatureGraph() as second:
        define_video("2")
    sa.orm.configure_mappers()
    for graph in (first, second):
        names = [m.class_.__name__ for m in registry_of(graph).mappers]
        assert names == ["Video"]


def test_nested_graphs_restore_the_outer_one() -> None:
    with mx.FeatureGraph() as outer:
        with mx.FeatureGraph() as inner:
            assert mx.FeatureGraph.get_active() is inner
            inner_video = define_video("inner")
        assert mx.FeatureGraph.get_active() is outer
        outer_video = define_video("outer")
    assert inner_video.feature_graph() is inner
    assert outer_video.feature_graph() is outer
    assert list(mx.metadata_of(outer).tables) == list(mx.metadata_of(inner).tables) == ["video"]


def test_threads_each_define_their_own_version() -> None:
    """The active graph is a context variable: a thread enters its own graph."""
    results: dict[str, tuple[str, sa.MetaData]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def work(version: str) -> None:
        try:
            with mx.FeatureGraph() as graph:
                barrier.wait(timeout=30)  # every thread has its graph active at once
                video = define_video(version)
                results[version] = (video.feature_version(), mx.metadata_of(graph))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(str(i),)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len({version for version, _ in results.values()}) == 4
    assert len({id(metadata) for _, metadata in results.values()}) == 4


def test_a_new_thread_starts_on_the_default_graph() -> None:
    seen: list[mx.FeatureGraph] = []
    with mx.FeatureGraph():
        thread = threading.Thread(target=lambda: seen.append(mx.FeatureGraph.get_active()))
        thread.start()
        thread.join()
    assert seen == [mx.FeatureGraph.get_default()]


def test_asyncio_tasks_inherit_the_active_graph() -> None:
    async def active() -> mx.FeatureGraph:
        return mx.FeatureGraph.get_active()

    async def main() -> mx.FeatureGraph:
        return await asyncio.create_task(active())

    with mx.FeatureGraph() as graph:
        assert asyncio.run(main()) is graph


def test_isolated_metadata_copies_the_naming_convention(monkeypatch: pytest.MonkeyPatch) -> None:
    """A graph's tables get the constraint names they get in ``SQLModel.metadata``."""
    convention = {"pk": "pk_%(table_name)s", "ix": "ix_%(table_name)s_%(column_0_name)s"}
    monkeypatch.setattr(SQLModel.metadata, "naming_convention", convention)
    with mx.FeatureGraph() as graph:
        define_video()
    assert mx.metadata_of(graph).naming_convention == convention


def test_two_versions_of_a_pipeline_share_one_database(backend: str, engine: sa.Engine) -> None:
    """Version 1 writes; version 2 (a new crop.frames) sees crop and face detection stale."""
    v1 = pipeline_in_graph()
    mx.metadata_of(v1.video.feature_graph()).create_all(engine)
    with mx.MetadataStore(engine) as store:
        for feature in v1:
            inc = (
                store.resolve_update(feature, samples=SAMPLES)
                if feature is v1.video
                else store.resolve_update(feature)
            )
            assert inc.new.height == N
            store.write(feature, inc.to_compute)

        v2 = pipeline_in_graph({"crop.frames": "2"})
        assert store.resolve_update(v2.video, samples=SAMPLES).is_empty()
        assert store.resolve_update(v2.stt).is_empty()
        for stale in (v2.crop, v2.face_detection):
            inc = store.resolve_update(stale)
            assert (inc.new.height, inc.stale.height) == (0, N)
        assert store.resolve_update(v1.crop).is_empty()  # version 1 still works beside it

    # The two versions side by side: which features' versions moved.
    before, after = v1.video.feature_graph().snapshot(), v2.video.feature_graph().snapshot()
    changed = {
        key
        for key, feature in after["features"].items()
        if feature["feature_version"] != before["features"][key]["feature_version"]
    }
    assert changed == {"crop", "face_detection"}

    with Session(engine) as session:  # the ORM maps each version's class on the same table
        assert len(session.exec(select(v1.video)).all()) == N
        assert len(session.exec(select(v2.video)).all()) == N
