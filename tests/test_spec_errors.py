"""Class definition: every invalid spec fails at once, naming the feature and the culprit.

A rejected class must leave no trace: the graph and ``SQLModel.metadata`` are as before, so a
correct class with the same key (and the same class name) can be defined right after.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

import metaxy_orm as mx


def assert_names(error: BaseException, *names: str) -> None:
    """The message names every one of ``names`` (feature keys, fields, columns, classes)."""
    message = str(error)
    for name in names:
        assert re.search(rf"(?<![\w/]){re.escape(name)}(?![\w/])", message), (name, message)


@pytest.fixture
def video() -> type[mx.Feature]:
    class Video(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(key="video", id_columns=["sample_uid"], fields=["audio", "frames"]),
    ):
        sample_uid: str

    return Video


# -- one test per class-definition error ---------------------------------------------------


def test_duplicate_field_keys() -> None:
    with pytest.raises(mx.FeatureSpecError) as info:

        class Crop(
            mx.Feature,
            table=True,
            spec=mx.FeatureSpec(
                key="crop",
                id_columns=["sample_uid"],
                fields=["audio", mx.FieldSpec(key="audio", code_version="2")],
            ),
        ):
            sample_uid: str

    assert_names(info.value, "crop", "audio")
    assert "duplicate" in str(info.value)


def test_field_dep_on_feature_not_in_deps(video: type[mx.Feature]) -> None:
    with pytest.raises(mx.FeatureSpecError) as info:

        class Crop(
            mx.Feature,
            table=True,
            spec=mx.FeatureSpec(
                key="crop",
                id_columns=["sample_uid"],
                fields=[mx.FieldSpec(key="cut", deps=[mx.FieldDep(feature=video)])],
            ),
        ):
            sample_uid: str

    assert_names(info.value, "crop", "cut", "video")
    assert "not in the feature's deps" in str(info.value)


def test_field_dep_on_unknown_upstream_field(video: type[mx.Feature]) -> None:
    with pytest.raises(mx.FeatureSpecError) as info:

        class Crop(
            mx.Feature,
            table=True,
            spec=mx.FeatureSpec(
                key="crop",
                id_columns=["sample_uid"],
                deps=[video],
                fields=[
                    mx.FieldSpec(key="cut", deps=[mx.FieldDep(feature=video, fields=["sound"])])
                ],
            ),
        ):
            sample_uid: str

    assert_names(info.value, "crop", "cut", "video", "sound")
    assert "has no field" in str(info.value)


def test_unknown_upstream_feature_by_key(video: type[mx.Feature]) -> None:
    with pytest.raises(mx.FeatureSpecError) as info:

        class Crop(
            mx.Feature,
            table=True,
            spec=mx.FeatureSpec(key="crop", id_columns=["sample_uid"], deps=["example/nope"]),
        ):
            sample_uid: str

    assert not isinstance(info.value, mx.CycleError | mx.DuplicateFeatureError)
    assert_names(info.value, "crop", "example/nope")
    assert "not defined" in str(info.value)


def test_self_dependency_by_key_is_a_cycle() -> None:
    with pytest.raises(mx.CycleError) as info:

        class Loop(
            mx.Feature,
            table=True,
            spec=mx.FeatureSpec(key="loop", id_columns=["sample_uid"], deps=["loop"]),
        ):
            sample_uid: str

    assert_names(info.value, "loop")
    assert "itself" in str(info.value)


def test_longer_cycle_names_the_path(graph: mx.FeatureGraph) -> None:
    # A cycle between features can only arise once a feature is removed and redefined.
    class A(mx.Feature, table=True, spec=mx.FeatureSpec(key="a", id_columns=["uid"])):
        uid: str

    class B(mx.Feature, table=True, spec=mx.FeatureSpec(key="b", id_columns=["uid"], deps=[A])):
        uid: str

    graph.remove_feature(A)
    with pytest.raises(mx.CycleError) as info:

        class A2(
            mx.Feature, table=True, spec=mx.FeatureSpec(key="a", id_columns=["uid"], deps=[B])
        ):
            uid: str

    assert_names(info.value, "a")
    assert "a -> b -> a" in str(info.value)
    assert "a" not in graph


def test_key_redefined_in_the_same_graph(video: type[mx.Feature]) -> None:
    with pytest.raises(mx.DuplicateFeatureError) as info:

        class Video2(
            mx.Feature,
            table=True,
            spec=mx.FeatureSpec(key="video", id_columns=["sample_uid"]),
        ):
            sample_uid: str

    assert_names(info.value, "video")
    assert video.__qualname__ in str(info.value)
    assert isinstance(info.value, mx.FeatureSpecError)


def test_id_column_missing_from_class() -> None:
    with pytest.raises(mx.FeatureSpecError) as info:

        class Video(
            mx.Feature,
            table=True,
            spec=mx.FeatureSpec(key="video", id_columns=["sample_uid", "frame_idx"]),
        ):
            sample_uid: str

    assert_names(info.value, "video", "frame_idx", "Video")
    assert "['frame_idx']" in str(info.value)  # sample_uid is declared, so not listed


def test_id_column_missing_from_upstream(video: type[mx.Feature]) -> None:
    with pytest.raises(mx.FeatureSpecError) as info:

        class Frames(
            mx.Feature,
            table=True,
            spec=mx.FeatureSpec(key="frames", id_columns=["sample_uid", "frame_idx"], deps=[video]),
        ):
            sample_uid: str
            frame_idx: int

    assert_names(info.value, "frames", "frame_idx", "video")


def test_system_column_without_default() -> None:
    with pytest.raises(mx.FeatureSpecError) as info:

        class Video(mx.Feature, table=True, spec=mx.FeatureSpec(key="video", id_columns=["uid"])):
            uid: str
            metaxy_provenance: str

    assert_names(info.value, "video", "metaxy_provenance", "Video")


def test_system_column_with_default() -> None:
    with pytest.raises(mx.FeatureSpecError) as info:

        class Video(mx.Feature, table=True, spec=mx.FeatureSpec(key="video", id_columns=["uid"])):
            uid: str
            metaxy_provenance: str = "mine"

    assert_names(info.value, "video", "metaxy_provenance", "Video")


def test_system_column_from_abstract_base() -> None:
    class Shared(mx.Feature):
        uid: str
        metaxy_provenance: str | None = None

    with pytest.raises(mx.FeatureSpecError) as info:

        class Video(Shared, table=True, spec=mx.FeatureSpec(key="video", id_columns=["uid"])):
            pass

    assert_names(info.value, "video", "metaxy_provenance", "Shared")


def test_other_reserved_column_names() -> None:
    with pytest.raises(mx.FeatureSpecError) as info:

        class Video(mx.Feature, table=True, spec=mx.FeatureSpec(key="video", id_columns=["uid"])):
            uid: str
            metaxy_provenance__audio: str | None = None

    assert_names(info.value, "video", "metaxy_provenance__audio")


@pytest.mark.parametrize(
    ("build", "named"),
    [
        (lambda: mx.FeatureSpec(key="Video", id_columns=["uid"]), "Video"),
        (lambda: mx.FeatureSpec(key="video", id_columns=["uid"], fields=["Audio"]), "Audio"),
        (lambda: mx.FeatureSpec(key="video", id_columns=["uid"], deps=["a__b"]), "a__b"),
        (lambda: mx.FieldDep(feature="video", fields=["fr-ames"]), "fr-ames"),
        (lambda: mx.FeatureDep(feature="my video"), "my video"),
    ],
    ids=["feature-key", "field-key", "dep-key", "field-dep-field", "feature-dep"],
)
def test_invalid_key_text(build: Callable[[], object], named: str) -> None:
    with pytest.raises(mx.KeyValidationError) as info:
        build()
    assert_names(info.value, named)


def test_spec_must_be_a_feature_spec() -> None:
    with pytest.raises(mx.FeatureSpecError) as info:

        class Video(mx.Feature, table=True, spec={"key": "video"}):
            uid: str

    assert_names(info.value, "Video")


def test_table_args_of_the_wrong_type() -> None:
    with pytest.raises(mx.FeatureSpecError) as info:

        class Video(mx.Feature, table=True, spec=mx.FeatureSpec(key="video", id_columns=["uid"])):
            __table_args__ = [{"comment": "a list"}]
            uid: str

    assert_names(info.value, "video")
    assert "list" in str(info.value)


@pytest.mark.parametrize(
    ("build", "names"),
    [
        (lambda: mx.FeatureSpec(key="video", id_columns=[]), ["video"]),
        (lambda: mx.FeatureSpec(key="video", id_columns=["uid", "uid"]), ["video", "uid"]),
        (lambda: mx.FeatureSpec(key="crop", id_columns=["u"], deps=["video", "video"]), ["crop"]),
        (lambda: mx.FieldSpec(key="audio", code_version=1.5), ["audio"]),  # type: ignore[arg-type]
        (lambda: mx.FeatureDep(feature="video", rename={"path": "p"}), ["video", "path"]),
        (lambda: mx.FieldDep(feature=42), ["42"]),  # type: ignore[arg-type]
    ],
    ids=["no-id-columns", "repeated-id", "dep-twice", "code-version-type", "rename", "ref"],
)
def test_local_spec_errors(build: Callable[[], object], names: list[str]) -> None:
    with pytest.raises(mx.FeatureSpecError) as info:
        build()
    assert_names(info.value, *names)


# -- a rejected class leaves no trace ------------------------------------------------------


def _clash(video: type[mx.Feature]) -> None:
    class Bad(mx.Feature, table=True, spec=mx.FeatureSpec(key="bad", id_columns=["sample_uid"])):
        sample_uid: str
        metaxy_data_version: str


def _missing_id(video: type[mx.Feature]) -> None:
    class Bad(mx.Feature, table=True, spec=mx.FeatureSpec(key="bad", id_columns=["sample_uid"])):
        path: str


def _unknown_upstream(video: type[mx.Feature]) -> None:
    class Bad(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(key="bad", id_columns=["sample_uid"], deps=["nope"]),
    ):
        sample_uid: str


def _unknown_field(video: type[mx.Feature]) -> None:
    class Bad(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="bad",
            id_columns=["sample_uid"],
            deps=[video],
            fields=[mx.FieldSpec(key="x", deps=[mx.FieldDep(feature=video, fields=["nope"])])],
        ),
    ):
        sample_uid: str


def _self_cycle(video: type[mx.Feature]) -> None:
    class Bad(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(key="bad", id_columns=["sample_uid"], deps=["bad"]),
    ):
        sample_uid: str


def _id_not_upstream(video: type[mx.Feature]) -> None:
    class Bad(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(key="bad", id_columns=["sample_uid", "n"], deps=[video]),
    ):
        sample_uid: str
        n: int


def _bad_table_args(video: type[mx.Feature]) -> None:
    class Bad(mx.Feature, table=True, spec=mx.FeatureSpec(key="bad", id_columns=["sample_uid"])):
        __table_args__ = "nope"
        sample_uid: str


@pytest.mark.parametrize(
    "reject",
    [
        _clash,
        _missing_id,
        _unknown_upstream,
        _unknown_field,
        _self_cycle,
        _id_not_upstream,
        _bad_table_args,
    ],
)
def test_rejected_class_leaves_no_trace(
    graph: mx.FeatureGraph, video: type[mx.Feature], reject: Callable[[type[mx.Feature]], None]
) -> None:
    specs_before = graph.specs
    tables_before = dict(SQLModel.metadata.tables)
    snapshot_before = graph.snapshot_version

    with pytest.raises(mx.FeatureSpecError):
        reject(video)

    assert graph.specs == specs_before
    assert "bad" not in graph
    assert dict(SQLModel.metadata.tables) == tables_before
    assert graph.snapshot_version == snapshot_before

    # The same class name and key are free to use (no stray table, mapper or registration).
    class Bad(mx.Feature, table=True, spec=mx.FeatureSpec(key="bad", id_columns=["sample_uid"])):
        sample_uid: str

    assert graph.get_feature("bad") is Bad
    assert SQLModel.metadata.tables["bad"] is Bad.__table__  # type: ignore[attr-defined]


def test_class_rejected_by_sqlalchemy_leaves_no_trace(graph: mx.FeatureGraph) -> None:
    """A table SQLAlchemy refuses to build must not leave the feature registered."""
    with pytest.raises(sa.exc.ArgumentError, match="nope"):

        class Bad(mx.Feature, table=True, spec=mx.FeatureSpec(key="bad", id_columns=["uid"])):
            __table_args__ = (sa.Index("ix_bad_nope", "nope"),)
            uid: str

    assert "bad" not in graph
    assert "bad" not in SQLModel.metadata.tables

    class Good(mx.Feature, table=True, spec=mx.FeatureSpec(key="bad", id_columns=["uid"])):
        uid: str

    assert graph.get_feature("bad") is Good


def test_duplicate_leaves_the_original_in_place(
    graph: mx.FeatureGraph, video: type[mx.Feature]
) -> None:
    table = SQLModel.metadata.tables["video"]
    with pytest.raises(mx.DuplicateFeatureError):

        class Video(mx.Feature, table=True, spec=mx.FeatureSpec(key="video", id_columns=["u"])):
            u: str

    assert graph.get_feature("video") is video
    assert SQLModel.metadata.tables["video"] is table
    assert "u" not in table.c


# -- accepted forms ------------------------------------------------------------------------


def test_shorthand_forms_equal_the_explicit_spec(
    graph: mx.FeatureGraph, video: type[mx.Feature]
) -> None:
    class Crop(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="crop",
            id_columns="sample_uid",
            deps=[video],
            fields=[
                "audio",
                mx.FieldSpec(key="frames", deps=[mx.FieldDep(feature="video", fields="frames")]),
            ],
        ),
    ):
        sample_uid: str

    explicit = mx.FeatureSpec(
        key=mx.FeatureKey("crop"),
        id_columns=["sample_uid"],
        deps=[mx.FeatureDep(feature=mx.FeatureKey("video"))],
        fields=[
            mx.FieldSpec(key=mx.FieldKey("audio")),
            mx.FieldSpec(
                key="frames",
                deps=[
                    mx.FieldDep(feature=mx.FeatureKey(["video"]), fields=[mx.FieldKey("frames")])
                ],
            ),
        ],
    )
    assert Crop.feature_spec().to_dict() == explicit.to_dict()
    assert graph.upstream(Crop) == [mx.FeatureKey("video")]
    assert graph.parent_fields(Crop, "audio") == [(mx.FeatureKey("video"), mx.FieldKey("audio"))]
    assert graph.parent_fields(Crop, "frames") == [(mx.FeatureKey("video"), mx.FieldKey("frames"))]


@pytest.mark.parametrize(
    "ref",
    ["video", ["video"], mx.FeatureKey("video")],
    ids=["text", "list", "key"],
)
def test_dependency_by_key_equals_dependency_by_class(
    graph: mx.FeatureGraph, video: type[mx.Feature], ref: str | list[str] | mx.FeatureKey
) -> None:
    class Crop(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="crop",
            id_columns=["sample_uid"],
            deps=[ref],
            fields=[mx.FieldSpec(key="cut", deps=[mx.FieldDep(feature=ref, fields=["audio"])])],
        ),
    ):
        sample_uid: str

    assert graph.upstream(Crop) == [video.feature_key()]
    assert graph.parent_fields(Crop, "cut") == [(mx.FeatureKey("video"), mx.FieldKey("audio"))]


def test_feature_without_fields_has_one_default_field(
    graph: mx.FeatureGraph, video: type[mx.Feature]
) -> None:
    class Summary(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(key="summary", id_columns=["sample_uid"], deps=[video]),
    ):
        sample_uid: str

    assert Summary.feature_spec().field_keys == (mx.FieldKey("default"),)
    assert list(Summary.field_versions()) == ["default"]
    assert graph.parent_fields(Summary, "default") == [
        (mx.FeatureKey("video"), mx.FieldKey("audio")),
        (mx.FeatureKey("video"), mx.FieldKey("frames")),
    ]
    columns = Summary.__table__.c  # type: ignore[attr-defined]
    assert "metaxy_provenance__default" in columns
    assert "metaxy_data_version__default" in columns


def test_abstract_base_shares_columns(graph: mx.FeatureGraph) -> None:
    class Shared(mx.Feature):
        sample_uid: str
        note: str | None = None

    assert len(graph) == 0
    assert not SQLModel.metadata.tables
    with pytest.raises(mx.FeatureSpecError, match="Shared"):
        Shared.feature_spec()

    class Video(Shared, table=True, spec=mx.FeatureSpec(key="video", id_columns=["sample_uid"])):
        duration_s: float | None = None

    class Audio(Shared, table=True, spec=mx.FeatureSpec(key="audio", id_columns=["sample_uid"])):
        pass

    tables = SQLModel.metadata.tables
    assert set(tables) == {"video", "audio"}
    for name, own in (("video", {"duration_s"}), ("audio", set())):
        columns = set(tables[name].c.keys())
        assert {"sample_uid", "note", "metaxy_provenance", "metaxy_created_at"} | own <= columns
        assert tables[name].c.sample_uid.primary_key
    assert "duration_s" not in tables["audio"].c
    assert list(graph) == [Audio, Video]
