"""The video pipeline of the design docs, as a factory of feature classes.

``video`` (fields ``audio`` and ``frames``) feeds ``crop`` (same fields, field to field) and
``stt`` (``transcription`` from the audio); ``face_detection`` (``faces``) reads only
``crop.frames``. So a change of audio reaches ``crop`` and ``stt`` but never ``face_detection``.

It is a factory so that tests and the demo can build variants (other code versions) in isolated
graphs; :mod:`example_app.features` spells the same classes out, for applications to copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import metaxy_orm as mx


class VideoPipeline(NamedTuple):
    video: type[mx.Feature]
    crop: type[mx.Feature]
    face_detection: type[mx.Feature]
    stt: type[mx.Feature]


def define_video_pipeline(code_versions: Mapping[str, str] | None = None) -> VideoPipeline:
    """Define the four features in the active graph.

    ``code_versions`` overrides code versions by ``"<feature>.<field>"``, e.g.
    ``{"video.audio": "2"}``; every other field has code version ``"1"``.
    """
    versions = dict(code_versions or {})
    unknown = set(versions) - {
        "video.audio",
        "video.frames",
        "crop.audio",
        "crop.frames",
        "face_detection.faces",
        "stt.transcription",
    }
    if unknown:
        raise ValueError(f"unknown fields in code_versions: {sorted(unknown)}")

    def cv(name: str) -> str:
        return versions.get(name, "1")

    class Video(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="video",
            id_columns=["sample_uid"],
            fields=[
                mx.FieldSpec(key="audio", code_version=cv("video.audio")),
                mx.FieldSpec(key="frames", code_version=cv("video.frames")),
            ],
        ),
    ):
        sample_uid: str
        path: str | None = None
        duration_s: float | None = None

    class Crop(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="crop",
            id_columns=["sample_uid"],
            deps=[mx.FeatureDep(feature=Video)],
            fields=[
                mx.FieldSpec(
                    key="audio",
                    code_version=cv("crop.audio"),
                    deps=[mx.FieldDep(feature=Video, fields=["audio"])],
                ),
                mx.FieldSpec(
                    key="frames",
                    code_version=cv("crop.frames"),
                    deps=[mx.FieldDep(feature=Video, fields=["frames"])],
                ),
            ],
        ),
    ):
        sample_uid: str
        path: str | None = None

    class FaceDetection(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="face_detection",
            id_columns=["sample_uid"],
            deps=[mx.FeatureDep(feature=Crop)],
            fields=[
                mx.FieldSpec(
                    key="faces",
                    code_version=cv("face_detection.faces"),
                    deps=[mx.FieldDep(feature=Crop, fields=["frames"])],
                ),
            ],
        ),
    ):
        sample_uid: str
        num_faces: int | None = None

    class Stt(
        mx.Feature,
        table=True,
        spec=mx.FeatureSpec(
            key="stt",
            id_columns=["sample_uid"],
            deps=[mx.FeatureDep(feature=Video)],
            fields=[
                mx.FieldSpec(
                    key="transcription",
                    code_version=cv("stt.transcription"),
                    deps=[mx.FieldDep(feature=Video, fields=["audio"])],
                ),
            ],
        ),
    ):
        sample_uid: str
        transcript: str | None = None

    return VideoPipeline(Video, Crop, FaceDetection, Stt)
