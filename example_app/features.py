"""The example pipeline's features, defined once in the default graph.

Applications, the CLI and ``migrations/env.py`` import this module; tests use
:func:`example_app.pipeline.define_video_pipeline` in isolated graphs instead.
"""

from __future__ import annotations

from example_app.pipeline import define_video_pipeline

Video, Crop, FaceDetection, Stt = define_video_pipeline()

__all__ = ["Crop", "FaceDetection", "Stt", "Video"]
