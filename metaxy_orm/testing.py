"""Helpers for testing code that defines features.

Feature classes are SQLModel tables, registered in ``SQLModel.metadata`` and SQLModel's default
ORM registry, which are process-wide. Tests that define features (often the same ones again,
with other code versions) need both emptied around them; :func:`isolated_graph` does that and
makes a fresh :class:`~metaxy_orm.graph.FeatureGraph` active.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlmodel import SQLModel
from sqlmodel.main import default_registry

from metaxy_orm.graph import FeatureGraph

__all__ = ["clear_sqlmodel", "isolated_graph"]


def clear_sqlmodel() -> None:
    """Forget every SQLModel table and mapped class (of features and of anything else)."""
    SQLModel.metadata.clear()
    default_registry.dispose()


@contextmanager
def isolated_graph(*, hash_truncation_length: int = 8) -> Iterator[FeatureGraph]:
    """A fresh active feature graph, with SQLModel's metadata cleared before and after.

    Use it (or a fixture built on it) around each test that defines features::

        with isolated_graph() as graph:
            pipeline = define_video_pipeline({"video.audio": "2"})
    """
    clear_sqlmodel()
    try:
        with FeatureGraph(hash_truncation_length=hash_truncation_length) as graph:
            yield graph
    finally:
        clear_sqlmodel()
