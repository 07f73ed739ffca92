"""Graph-level versions against an independent reference, and the FeatureGraph API.

The reference below is written straight from ``VERSIONING.md`` with ``hashlib``; it shares no
code with ``metaxy_orm.versioning``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

import metaxy_orm as mx
from example_app.pipeline import VideoPipeline, define_video_pipeline
from metaxy_orm.testing import isolated_graph

# -- reference implementation ----------------------------------------------------------------


@dataclass(frozen=True)
class RefFeature:
    """A feature as plain text: ``fields`` maps a field key to (code version, parents).

    ``parents`` lists ``"<feature>.<field>"`` texts, or is None for the default mapping.
    """

    deps: tuple[str, ...] = ()
    fields: dict[str, tuple[str, tuple[str, ...] | None]] = field(default_factory=dict)


RefGraph = Mapping[str, RefFeature]


def ref_parents(graph: RefGraph, feature: str, field_key: str) -> list[str]:
    explicit = graph[feature].fields[field_key][1]
    if explicit is not None:
        return sorted(set(explicit))
    found: set[str] = set()
    for upstream in graph[feature].deps:
        upstream_fields = graph[upstream].fields
        if field_key in upstream_fields:
            found.add(f"{upstream}.{field_key}")
        else:
            found.update(f"{upstream}.{g}" for g in upstream_fields)
    return sorted(found)


def ref_field_version(graph: RefGraph, feature: str, field_key: str, t: int) -> str:
    digest = hashlib.sha256()
    digest.update(f"{feature}.{field_key}".encode())
    digest.update(graph[feature].fields[field_key][0].encode())
    for parent in ref_parents(graph, feature, field_key):
        parent_feature, _, parent_field = parent.partition(".")
        digest.update(ref_field_version(graph, parent_feature, parent_field, t).encode())
    return digest.hexdigest()[:t]


def ref_field_versions(graph: RefGraph, feature: str, t: int) -> dict[str, str]:
    return {f: ref_field_version(graph, feature, f, t) for f in sorted(graph[feature].fields)}


def ref_feature_version(graph: RefGraph, feature: str, t: int) -> str:
    text = "".join(f + v for f, v in ref_field_versions(graph, feature, t).items())
    return hashlib.sha256(text.encode()).hexdigest()[:t]


def ref_snapshot_version(graph: RefGraph, t: int) -> str:
    text = "".join(key + ref_feature_version(graph, key, t) for key in sorted(graph))
    return hashlib.sha256(text.encode()).hexdigest()[:t]


def ref_video_pipeline(code_versions: Mapping[str, str] | None = None) -> dict[str, RefFeature]:
    """``example_app.pipeline`` as plain data (every code version "1" unless overridden)."""
    versions = dict(code_versions or {})

    def cv(name: str) -> str:
        return versions.get(name, "1")

    return {
        "video": RefFeature(
            fields={"audio": (cv("video.audio"), None), "frames": (cv("video.frames"), None)}
        ),
        "crop": RefFeature(
            deps=("video",),
            fields={
                "audio": (cv("crop.audio"), ("video.audio",)),
                "frames": (cv("crop.frames"), ("video.frames",)),
            },
        ),
        "face_detection": RefFeature(
            deps=("crop",),
            fields={"faces": (cv("face_detection.faces"), ("crop.frames",))},
        ),
        "stt": RefFeature(
            deps=("video",),
            fields={"transcription": (cv("stt.transcription"), ("video.audio",))},
        ),
    }


def key(text: str) -> mx.FeatureKey:
    return mx.FeatureKey(text)


@pytest.fixture
def pipeline() -> VideoPipeline:
    return define_video_pipeline()


# -- versions ----------------------------------------------------------------------------------


def test_formula_by_hand(pipeline: VideoPipeline) -> None:
    """The first levels of the example graph, spelled out."""
    video_audio = hashlib.sha256(b"video.audio" + b"1").hexdigest()[:8]
    video_frames = hashlib.sha256(b"video.frames" + b"1").hexdigest()[:8]
    crop_audio = hashlib.sha256(b"crop.audio" + b"1" + video_audio.encode()).hexdigest()[:8]
    video = hashlib.sha256(f"audio{video_audio}frames{video_frames}".encode()).hexdigest()[:8]
    assert pipeline.video.field_versions() == {"audio": video_audio, "frames": video_frames}
    assert pipeline.video.feature_version() == video
    assert pipeline.crop.field_versions()["audio"] == crop_audio


@pytest.mark.parametrize("t", [8, 23, 64])
def test_example_graph_matches_reference(
    graph: mx.FeatureGraph, pipeline: VideoPipeline, t: int
) -> None:
    ref = ref_video_pipeline()
    for feature in pipeline:
        name = str(feature.feature_key())
        assert feature.field_versions(hash_truncation_length=t) == ref_field_versions(ref, name, t)
        assert feature.feature_version(hash_truncation_length=t) == ref_feature_version(
            ref, name, t
        )
        assert graph.feature_version(name, hash_truncation_length=t) == ref_feature_version(
            ref, name, t
        )
        for field_key, version in ref_field_versions(ref, name, t).items():
            assert graph.field_version(feature, field_key, hash_truncation_length=t) == version
            assert len(version) == t
    snapshot = graph.snapshot(hash_truncation_length=t)
    assert snapshot["snapshot_version"] == ref_snapshot_version(ref, t)


def test_default_truncation_is_8(graph: mx.FeatureGraph, pipeline: VideoPipeline) -> None:
    ref = ref_video_pipeline()
    assert graph.hash_truncation_length == 8
    assert graph.snapshot_version == ref_snapshot_version(ref, 8)
    assert pipeline.stt.feature_version() == ref_feature_version(ref, "stt", 8)


def test_graph_truncation_setting() -> None:
    with mx.FeatureGraph(hash_truncation_length=64) as wide:
        pipeline = define_video_pipeline()
    ref = ref_video_pipeline()
    assert wide.snapshot_version == ref_snapshot_version(ref, 64)
    assert pipeline.crop.feature_version() == ref_feature_version(ref, "crop", 64)
    assert pipeline.crop.feature_version(hash_truncation_length=8) == ref_feature_version(
        ref, "crop", 8
    )


def test_truncation_is_applied_at_every_level(pipeline: VideoPipeline) -> None:
    """A 64-character version is not an extension of the 8-character one below the roots."""
    wide = pipeline.crop.field_versions(hash_truncation_length=64)["audio"]
    narrow = pipeline.crop.field_versions(hash_truncation_length=8)["audio"]
    assert wide[:8] != narrow
    root_wide = pipeline.video.field_versions(hash_truncation_length=64)["audio"]
    assert root_wide[:8] == pipeline.video.field_versions()["audio"]


def test_default_field_mapping(graph: mx.FeatureGraph) -> None:
    """No explicit field deps: the same-key upstream field if there is one, else all fields."""

    class Video(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="media/video", id_columns=["uid"], fields=["audio", "frames/left", "frames/right"]
        ),
    ):
        uid: str

    class Meta(mx.Feature, table=True, spec=mx.FeatureSpec(key="meta", id_columns=["uid"])):
        uid: str

    class Clip(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="media/clip",
            id_columns=["uid"],
            deps=[Video, Meta],
            fields=[mx.FieldSpec(key="audio", code_version="3"), "frames/left", "summary"],
        ),
    ):
        uid: str

    ref: dict[str, RefFeature] = {
        "media/video": RefFeature(
            fields={
                "audio": ("__metaxy_initial__", None),
                "frames/left": ("__metaxy_initial__", None),
                "frames/right": ("__metaxy_initial__", None),
            }
        ),
        "meta": RefFeature(fields={"default": ("__metaxy_initial__", None)}),
        "media/clip": RefFeature(
            deps=("media/video", "meta"),
            fields={
                "audio": ("3", None),
                "frames/left": ("__metaxy_initial__", None),
                "summary": ("__metaxy_initial__", None),
            },
        ),
    }

    def parents(field_key: str) -> list[str]:
        return [f"{p}.{g}" for p, g in graph.parent_fields(Clip, field_key)]

    assert parents("audio") == ["media/video.audio", "meta.default"]
    assert parents("frames/left") == ["media/video.frames/left", "meta.default"]
    assert parents("summary") == [
        "media/video.audio",
        "media/video.frames/left",
        "media/video.frames/right",
        "meta.default",
    ]
    for name in ref:
        assert graph.field_versions(name) == ref_field_versions(ref, name, 8)
        assert graph.feature_version(name, hash_truncation_length=40) == ref_feature_version(
            ref, name, 40
        )
    assert graph.snapshot_version == ref_snapshot_version(ref, 8)


def test_explicit_field_deps_override_the_default(graph: mx.FeatureGraph) -> None:
    class Video(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(key="video", id_columns=["uid"], fields=["audio", "frames"]),
    ):
        uid: str

    class Crop(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="crop",
            id_columns=["uid"],
            deps=[Video],
            fields=[
                mx.FieldSpec(key="audio", deps=[mx.FieldDep(feature=Video, fields=["frames"])]),
                mx.FieldSpec(key="frames", deps=[mx.FieldDep(feature=Video)]),
                mx.FieldSpec(key="static", deps=mx.NO_DEPS),
                mx.FieldSpec(key="empty", deps=[]),
            ],
        ),
    ):
        uid: str

    k = mx.FieldKey
    assert graph.parent_fields(Crop, "audio") == [(key("video"), k("frames"))]
    assert graph.parent_fields(Crop, "frames") == [
        (key("video"), k("audio")),
        (key("video"), k("frames")),
    ]
    assert graph.parent_fields(Crop, "static") == []
    # deps=[] is "no explicit deps" (the reference system's reading): the default mapping
    assert graph.parent_fields(Crop, "empty") == [
        (key("video"), k("audio")),
        (key("video"), k("frames")),
    ]
    ref: dict[str, RefFeature] = {
        "video": RefFeature(
            fields={"audio": ("__metaxy_initial__", None), "frames": ("__metaxy_initial__", None)}
        ),
        "crop": RefFeature(
            deps=("video",),
            fields={
                "audio": ("__metaxy_initial__", ("video.frames",)),
                "frames": ("__metaxy_initial__", ("video.audio", "video.frames")),
                "static": ("__metaxy_initial__", ()),
                "empty": ("__metaxy_initial__", None),
            },
        ),
    }
    assert Crop.field_versions() == ref_field_versions(ref, "crop", 8)


def test_code_version_default_and_integer_form(graph: mx.FeatureGraph) -> None:
    class Video(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="video",
            id_columns=["uid"],
            fields=["audio", mx.FieldSpec(key="frames", code_version=2)],
        ),
    ):
        uid: str

    spec = Video.feature_spec()
    assert spec.field("audio").code_version == "__metaxy_initial__"
    assert spec.field("frames").code_version == "2"
    assert Video.field_versions() == {
        "audio": hashlib.sha256(b"video.audio__metaxy_initial__").hexdigest()[:8],
        "frames": hashlib.sha256(b"video.frames2").hexdigest()[:8],
    }


CHANGED_BY_VIDEO_AUDIO = {"video", "crop", "stt"}


def _versions(pipeline: VideoPipeline) -> dict[str, str]:
    return {str(f.feature_key()): f.feature_version() for f in pipeline}


def test_code_version_change_of_video_audio() -> None:
    """Done-when: a new code version of video.audio reaches crop and stt, not face_detection.

    Two versions of the same graph (same tables) in one process, each in an isolated graph.
    """
    with isolated_graph() as before_graph:
        before = _versions(define_video_pipeline())
    with isolated_graph() as after_graph:
        after = _versions(define_video_pipeline({"video.audio": "2"}))
    assert before_graph.snapshot_version != after_graph.snapshot_version

    assert {name for name in before if before[name] != after[name]} == CHANGED_BY_VIDEO_AUDIO
    ref_before, ref_after = ref_video_pipeline(), ref_video_pipeline({"video.audio": "2"})
    assert before == {n: ref_feature_version(ref_before, n, 8) for n in ref_before}
    assert after == {n: ref_feature_version(ref_after, n, 8) for n in ref_after}


def test_reference_agrees_on_what_changes() -> None:
    """The reference itself: only video.audio's descendants change."""
    before, after = ref_video_pipeline(), ref_video_pipeline({"video.audio": "2"})
    changed = {
        n for n in before if ref_feature_version(before, n, 8) != ref_feature_version(after, n, 8)
    }
    assert changed == CHANGED_BY_VIDEO_AUDIO


@pytest.mark.parametrize("bad", [7, 65, 0, "8", 8.0, True])
def test_invalid_truncation(pipeline: VideoPipeline, bad: object) -> None:
    with pytest.raises(ValueError, match="hash_truncation_length"):
        mx.FeatureGraph(hash_truncation_length=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="hash_truncation_length"):
        pipeline.video.feature_version(hash_truncation_length=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="hash_truncation_length"):
        pipeline.video.feature_graph().snapshot(hash_truncation_length=bad)  # type: ignore[arg-type]


# -- the graph API -----------------------------------------------------------------------------


def test_topological_order_and_iteration(graph: mx.FeatureGraph, pipeline: VideoPipeline) -> None:
    assert graph.topological_order() == [
        key("video"),
        key("crop"),
        key("face_detection"),
        key("stt"),
    ]
    assert list(graph) == [pipeline.video, pipeline.crop, pipeline.face_detection, pipeline.stt]
    assert len(graph) == 4


def test_topological_order_puts_upstream_first_regardless_of_names(graph: mx.FeatureGraph) -> None:
    class Z(mx.Feature, table=True, spec=mx.FeatureSpec(key="z", id_columns=["uid"])):
        uid: str

    class A(mx.Feature, table=True, spec=mx.FeatureSpec(key="a", id_columns=["uid"], deps=[Z])):
        uid: str

    class M(mx.Feature, table=True, spec=mx.FeatureSpec(key="m", id_columns=["uid"])):
        uid: str

    assert [str(k) for k in graph.topological_order()] == ["m", "z", "a"]


def test_upstream_and_downstream(graph: mx.FeatureGraph, pipeline: VideoPipeline) -> None:
    assert graph.upstream(pipeline.video) == []
    assert graph.upstream("face_detection") == [key("crop")]
    assert graph.downstream(pipeline.video) == [key("crop"), key("face_detection"), key("stt")]
    assert graph.downstream("crop") == [key("face_detection")]
    assert graph.downstream(pipeline.stt) == []
    with pytest.raises(mx.FeatureNotFoundError, match="nope"):
        graph.downstream("nope")


def test_get_feature(graph: mx.FeatureGraph, pipeline: VideoPipeline) -> None:
    assert graph.get_feature("crop") is pipeline.crop
    assert graph.get_feature(["crop"]) is pipeline.crop
    assert graph.get_feature(key("crop")) is pipeline.crop
    assert graph.get_feature(pipeline.crop) is pipeline.crop
    assert pipeline.crop.feature_graph() is graph
    with pytest.raises(mx.FeatureNotFoundError) as info:
        graph.get_feature("example/audio")
    assert isinstance(info.value, KeyError)
    message = str(info.value)
    assert "'example/audio'" in message
    assert "crop, face_detection, stt, video" in message


def test_parent_fields(graph: mx.FeatureGraph, pipeline: VideoPipeline) -> None:
    assert graph.parent_fields(pipeline.crop, "audio") == [(key("video"), mx.FieldKey("audio"))]
    assert graph.parent_fields("face_detection", mx.FieldKey("faces")) == [
        (key("crop"), mx.FieldKey("frames"))
    ]
    assert graph.parent_fields("video", "frames") == []
    with pytest.raises(mx.FeatureSpecError, match="no field 'nope'"):
        graph.parent_fields("video", "nope")


def test_contains(graph: mx.FeatureGraph, pipeline: VideoPipeline) -> None:
    assert pipeline.video in graph
    assert "video" in graph
    assert ["stt"] in graph
    assert key("face_detection") in graph
    assert "audio" not in graph
    assert "Not A Key" not in graph
    assert 42 not in graph


def test_nested_graphs_restore_the_previous_one(graph: mx.FeatureGraph) -> None:
    assert mx.FeatureGraph.get_active() is graph
    outer, inner = mx.FeatureGraph(), mx.FeatureGraph()
    with outer:
        assert mx.FeatureGraph.get_active() is outer
        with inner:
            assert mx.FeatureGraph.get_active() is inner

            class Inner(mx.Feature, table=True, spec=mx.FeatureSpec(key="inner", id_columns=["u"])):
                u: str

            with outer:  # re-entering a graph that is already active further up
                assert mx.FeatureGraph.get_active() is outer
            assert mx.FeatureGraph.get_active() is inner
        assert mx.FeatureGraph.get_active() is outer

        class Outer(mx.Feature, table=True, spec=mx.FeatureSpec(key="outer", id_columns=["u"])):
            u: str

    assert mx.FeatureGraph.get_active() is graph
    assert [str(k) for k in inner.topological_order()] == ["inner"]
    assert [str(k) for k in outer.topological_order()] == ["outer"]
    assert len(graph) == 0
    assert Inner.feature_graph() is inner
    assert Outer.feature_graph() is outer


def test_graph_is_restored_after_an_exception(graph: mx.FeatureGraph) -> None:
    with pytest.raises(RuntimeError), mx.FeatureGraph():
        raise RuntimeError("boom")
    assert mx.FeatureGraph.get_active() is graph


def test_snapshot_content(graph: mx.FeatureGraph, pipeline: VideoPipeline) -> None:
    ref = ref_video_pipeline()
    snapshot = graph.snapshot()
    assert snapshot["snapshot_version"] == graph.snapshot_version == ref_snapshot_version(ref, 8)
    assert list(snapshot["features"]) == ["video", "crop", "face_detection", "stt"]
    for name, entry in snapshot["features"].items():
        assert entry["feature_version"] == ref_feature_version(ref, name, 8)
        assert entry["field_versions"] == ref_field_versions(ref, name, 8)
    assert snapshot["features"]["face_detection"]["spec"] == {
        "key": "face_detection",
        "id_columns": ["sample_uid"],
        "deps": [{"feature": "crop", "select": [], "rename": {}, "filters": [], "optional": False}],
        "fields": [
            {
                "key": "faces",
                "code_version": "1",
                "deps": [{"feature": "crop", "fields": ["frames"]}],
            }
        ],
    }
    assert snapshot["features"]["video"]["spec"]["fields"][0] == {
        "key": "audio",
        "code_version": "1",
        "deps": None,
    }


def test_snapshot_version_of_an_empty_graph(graph: mx.FeatureGraph) -> None:
    assert graph.snapshot_version == hashlib.sha256(b"").hexdigest()[:8]
    empty = {
        "snapshot_version": graph.snapshot_version,
        "hash_truncation_length": 8,
        "features": {},
    }
    assert graph.snapshot() == empty


def test_versions_follow_graph_changes(graph: mx.FeatureGraph, pipeline: VideoPipeline) -> None:
    """Memoized versions are dropped when a feature is added or removed."""
    before = graph.snapshot_version
    graph.remove_feature(pipeline.stt)
    without_stt = {k: v for k, v in ref_video_pipeline().items() if k != "stt"}
    assert graph.snapshot_version == ref_snapshot_version(without_stt, 8) != before
    assert "stt" not in graph
    assert "stt" not in mx.metadata_of(graph).tables  # create_all no longer creates it


def test_a_removed_feature_can_be_defined_again(graph: mx.FeatureGraph) -> None:
    """A feature removed, then defined again under the same key and table (e.g. a notebook
    that redefines a step): the new table replaces the old one in the graph's MetaData."""

    def spec(code_version: str) -> mx.FeatureSpec:
        return mx.FeatureSpec(
            key="clip", id_columns=["uid"], fields=[mx.FieldSpec("audio", code_version)]
        )

    class Clip(mx.Feature, table=True, spec=spec("1")):
        uid: str

    graph.remove_feature(Clip)

    class ClipAgain(mx.Feature, table=True, spec=spec("2")):
        __tablename__ = "clip"
        uid: str

    assert ClipAgain.__table__ is mx.metadata_of(graph).tables["clip"]  # type: ignore[attr-defined]
    assert graph.get_feature("clip") is ClipAgain
