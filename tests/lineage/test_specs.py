"""Bad lineage specs fail at class definition, naming the feature and the column."""

from __future__ import annotations

import re
from typing import Any

import pytest

import metaxy_orm as mx
from metaxy_orm.exceptions import FeatureSpecError

LR = mx.LineageRelationship


def video() -> type[mx.Feature]:
    class Video(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(key="video", id_columns=["video_id"], fields=["frames"]),
    ):
        video_id: str

    return Video


def frames() -> type[mx.Feature]:
    class Frames(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(key="frames", id_columns=["video_id", "frame_id"], fields=["pixels"]),
    ):
        video_id: str
        frame_id: int

    return Frames


def child(key: str, ids: list[str], *deps: mx.FeatureDep) -> type[mx.Feature]:
    annotations: dict[str, Any] = dict.fromkeys(ids, str)
    spec = mx.FeatureSpec(key=key, id_columns=ids, deps=list(deps))
    body = {"__annotations__": annotations, "__module__": __name__}
    name = "".join(part.title() for part in key.split("_"))
    return type(mx.Feature)(  # type: ignore[no-any-return]
        name, (mx.Feature,), body, table=True, spec=spec
    )


def fails(match: str) -> Any:
    return pytest.raises(FeatureSpecError, match=re.escape(match))


def test_expansion_needs_on() -> None:
    with fails("expansion lineage needs on="):
        LR.expansion(on=None)  # type: ignore[arg-type]


def test_identity_takes_no_on_and_unknown_relationships_are_refused() -> None:
    with fails("identity lineage takes no on="):
        LR("1:1", on=["video_id"])
    with fails("unknown lineage relationship 'M:N'"):
        LR("M:N")
    with fails("lineage must be a LineageRelationship"):
        mx.FeatureDep(feature="video", lineage="1:N")  # type: ignore[arg-type]
    with fails("on= names column(s) ['a'] more than once"):
        LR.aggregation(on=["a", "a"])
    with fails("on= must name at least one column"):
        LR.aggregation(on=[])


def test_identity_with_other_id_columns_suggests_a_lineage() -> None:
    v = video()
    with fails("feature 'frames': its id columns ['video_id', 'frame_id'] differ"):
        child("frames", ["video_id", "frame_id"], mx.FeatureDep(feature=v))
    with fails("lineage=LineageRelationship.expansion(on=[...])"):
        child("frames", ["video_id", "frame_id"], mx.FeatureDep(feature=v))
    f = frames()
    with fails("lineage=LineageRelationship.aggregation(on=[...])"):
        child("summary", ["video_id"], mx.FeatureDep(feature=f))


def test_on_column_missing_from_the_parent() -> None:
    v = video()
    dep = mx.FeatureDep(feature=v, lineage=LR.expansion(on=["clip_id"]))
    with fails(
        "feature 'frames': FeatureDep on 'video': on= column 'clip_id' is not an id column "
        "of 'video'"
    ):
        child("frames", ["video_id", "frame_id"], dep)


def test_on_column_missing_from_the_child() -> None:
    f = frames()
    dep = mx.FeatureDep(feature=f, lineage=LR.aggregation(on=["frame_id"]))
    with fails("on= column 'frame_id' is not an id column of 'summary'"):
        child("summary", ["video_id"], dep)


def test_expansion_on_must_name_every_parent_id_column() -> None:
    f = frames()
    dep = mx.FeatureDep(feature=f, lineage=LR.expansion(on=["video_id"]))
    with fails("expansion on= must name every id column of the parent ['video_id', 'frame_id']"):
        child("crops", ["video_id", "frame_id", "crop_id"], dep)


def test_expansion_child_needs_more_id_columns() -> None:
    v = video()
    dep = mx.FeatureDep(feature=v, lineage=LR.expansion(on=["video_id"]))
    with fails("an expansion (1:N) child needs more id columns than its parent; 'clip' has"):
        child("clip", ["video_id"], dep)


def test_aggregation_parent_needs_more_id_columns() -> None:
    v = video()
    dep = mx.FeatureDep(feature=v, lineage=LR.aggregation())
    with fails("an aggregation (N:1) parent needs more id columns than its child"):
        child("summary", ["video_id"], dep)


def test_aggregation_on_must_name_every_child_id_column() -> None:
    class Readings(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(key="readings", id_columns=["sensor", "hour", "reading"]),
    ):
        sensor: str
        hour: str
        reading: str

    dep = mx.FeatureDep(feature=Readings, lineage=LR.aggregation(on=["sensor"]))
    with fails("aggregation on= must name every id column of 'hourly' ['sensor', 'hour']"):
        child("hourly", ["sensor", "hour"], dep)


def test_aggregation_refuses_select() -> None:
    f = frames()
    dep = mx.FeatureDep(feature=f, select=["frame_id"], lineage=LR.aggregation())
    with fails("select= is not available with aggregation lineage"):
        child("summary", ["video_id"], dep)


def test_dependencies_at_different_granularities_are_refused() -> None:
    v, f = video(), frames()
    with fails("feature 'crops': its dependencies meet it at different granularities"):
        child(
            "crops",
            ["video_id", "frame_id"],
            mx.FeatureDep(feature=v, lineage=LR.expansion(on=["video_id"])),
            mx.FeatureDep(feature=f),
        )


def test_a_refused_feature_is_not_registered(graph: mx.FeatureGraph) -> None:
    v = video()
    with pytest.raises(FeatureSpecError):
        child("clip", ["video_id"], mx.FeatureDep(feature=v, lineage=LR.expansion(["video_id"])))
    assert "clip" not in graph


def test_lineage_is_recorded_in_the_spec_and_identity_is_left_out() -> None:
    v = video()
    frames_cls = child(
        "frames",
        ["video_id", "frame_id"],
        mx.FeatureDep(feature=v, lineage=LR.expansion(on=["video_id"])),
    )
    summary = child(
        "summary", ["video_id"], mx.FeatureDep(feature=frames_cls, lineage=LR.aggregation())
    )
    (frames_dep,) = frames_cls.feature_spec().to_dict()["deps"]
    assert frames_dep["lineage"] == {"type": "1:N", "on": ["video_id"]}
    (summary_dep,) = summary.feature_spec().to_dict()["deps"]
    assert summary_dep["lineage"] == {"type": "N:1", "on": None}
    identity = child("other", ["video_id"], mx.FeatureDep(feature=v))
    assert "lineage" not in identity.feature_spec().to_dict()["deps"][0]
    assert mx.FeatureDep(feature=v).lineage == LR.identity()
    assert repr(LR.expansion(["video_id"])) == "LineageRelationship.expansion(on=['video_id'])"
