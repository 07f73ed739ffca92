"""The video pipeline's features, as plain classes: copy this file to start your own.

``video`` (fields ``audio`` and ``frames``) feeds ``crop`` (same fields, field to field) and
``stt`` (``transcription`` from the audio); ``face_detection`` (``faces``) reads only
``crop.frames``. So a change of audio reaches ``crop`` and ``stt`` but never ``face_detection``.

Importing this module defines the classes in the active graph (the default one, for an
application). Tests and the demo build variants (other code versions, isolated graphs) with
:func:`example_app.pipeline.define_video_pipeline`, which defines the same classes.
"""

from __future__ import annotations

import metaxy_orm as mx


class Video(
    mx.Feature,
    table=True,
    spec=mx.FeatureSpec(
        key="video",
        id_columns=["sample_uid"],
        fields=[
            mx.FieldSpec(key="audio", code_version="1"),
            mx.FieldSpec(key="frames", code_version="1"),
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
                key="audio", code_version="1", deps=[mx.FieldDep(feature=Video, fields=["audio"])]
            ),
            mx.FieldSpec(
                key="frames", code_version="1", deps=[mx.FieldDep(feature=Video, fields=["frames"])]
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
                key="faces", code_version="1", deps=[mx.FieldDep(feature=Crop, fields=["frames"])]
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
                code_version="1",
                deps=[mx.FieldDep(feature=Video, fields=["audio"])],
            ),
        ],
    ),
):
    sample_uid: str
    transcript: str | None = None


__all__ = ["Crop", "FaceDetection", "Stt", "Video"]
