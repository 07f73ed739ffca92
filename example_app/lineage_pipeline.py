"""A second example graph: videos split into frames (1:N), frames summarised per video (N:1).

::

    video(video_id) --1:N--> frames(video_id, frame_id) --1:1--> frame_faces(video_id, frame_id)
        |                                                         |
        +--1:1--> video_report(video_id) <--N:1-------------------+--N:1--> video_faces(video_id)

``frames`` expands each video into its frames: its expected rows are one per video and every
frame of a video carries the video's provenance. ``video_faces`` aggregates the faces of every
frame of a video; ``video_report`` mixes a 1:1 dependency on ``video`` with an N:1 one on
``frame_faces``. ``docs/lineage.md`` walks through it; it is a factory, like
:func:`example_app.pipeline.define_video_pipeline`, so tests can define it in isolated graphs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import polars as pl

import metaxy_orm as mx

__all__ = ["CODE_VERSIONS", "LineagePipeline", "define_lineage_pipeline", "expand_frames"]


class LineagePipeline(NamedTuple):
    video: type[mx.Feature]
    frames: type[mx.Feature]
    frame_faces: type[mx.Feature]
    video_faces: type[mx.Feature]
    video_report: type[mx.Feature]


#: Every field of the pipeline, by ``"<feature>.<field>"``, with its default code version.
CODE_VERSIONS = {
    "video.audio": "1",
    "video.frames": "1",
    "frames.pixels": "1",
    "frame_faces.faces": "1",
    "video_faces.faces": "1",
    "video_report.report": "3",
}


def define_lineage_pipeline(code_versions: Mapping[str, str] | None = None) -> LineagePipeline:
    """Define the five features in the active graph.

    ``code_versions`` overrides code versions by ``"<feature>.<field>"`` (see
    :data:`CODE_VERSIONS`), e.g. ``{"frames.pixels": "2"}``.
    """
    unknown = set(code_versions or {}) - set(CODE_VERSIONS)
    if unknown:
        raise ValueError(f"unknown fields in code_versions: {sorted(unknown)}")
    versions = {**CODE_VERSIONS, **(code_versions or {})}

    class Video(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="video",
            id_columns=["video_id"],
            fields=[
                mx.FieldSpec(key="audio", code_version=versions["video.audio"]),
                mx.FieldSpec(key="frames", code_version=versions["video.frames"]),
            ],
        ),
    ):
        video_id: str
        path: str | None = None
        n_frames: int | None = None

    class Frames(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="frames",
            id_columns=["video_id", "frame_id"],
            deps=[
                mx.FeatureDep(
                    feature=Video,
                    select=["path", "n_frames"],
                    lineage=mx.LineageRelationship.expansion(on=["video_id"]),
                )
            ],
            fields=[
                mx.FieldSpec(
                    key="pixels",
                    code_version=versions["frames.pixels"],
                    deps=[mx.FieldDep(feature=Video, fields=["frames"])],
                )
            ],
        ),
    ):
        video_id: str
        frame_id: int
        timestamp_s: float | None = None

    class FrameFaces(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="frame_faces",
            id_columns=["video_id", "frame_id"],
            deps=[mx.FeatureDep(feature=Frames)],
            fields=[mx.FieldSpec(key="faces", code_version=versions["frame_faces.faces"])],
        ),
    ):
        video_id: str
        frame_id: int
        num_faces: int | None = None

    class VideoFaces(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="video_faces",
            id_columns=["video_id"],
            deps=[
                mx.FeatureDep(
                    feature=FrameFaces,
                    lineage=mx.LineageRelationship.aggregation(on=["video_id"]),
                )
            ],
            fields=[mx.FieldSpec(key="faces", code_version=versions["video_faces.faces"])],
        ),
    ):
        video_id: str
        max_faces: int | None = None

    class VideoReport(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="video_report",
            id_columns=["video_id"],
            deps=[
                mx.FeatureDep(feature=Video),
                mx.FeatureDep(feature=FrameFaces, lineage=mx.LineageRelationship.aggregation()),
            ],
            fields=[mx.FieldSpec(key="report", code_version=versions["video_report.report"])],
        ),
    ):
        video_id: str
        summary: str | None = None

    return LineagePipeline(Video, Frames, FrameFaces, VideoFaces, VideoReport)


def expand_frames(parents: pl.DataFrame, counts: pl.Expr | str = "n_frames") -> pl.DataFrame:
    """Child rows of an expansion: one row per frame of each parent row, ``frame_id`` 0..n-1.

    ``parents`` is ``resolve_update(Frames).to_compute`` (one row per video, with the video's
    provenance): every frame keeps it, which is what ``write`` expects of expanded children.
    """
    n = pl.col(counts) if isinstance(counts, str) else counts
    children = parents.with_columns(pl.int_ranges(0, n).alias("frame_id")).explode("frame_id")
    return children.filter(pl.col("frame_id").is_not_null())  # a video without frames
