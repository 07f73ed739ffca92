"""Helpers for testing code that defines features, and a pytest plugin (:mod:`.plugin`).

A graph entered with ``with mx.FeatureGraph(): ...`` isolates its features *and* their tables
(its own ``MetaData`` and ORM registry, :func:`metaxy_orm.metadata_of`), which is what a test
that defines features, or defines them again with other code versions, needs. The pytest plugin
(registered as a ``pytest11`` entry point, so active once metaxy-orm is installed) gives tests
that graph as the ``mx_graph`` fixture, and a store on a temporary database as ``mx_store``.

:func:`isolated_graph` is the older helper, kept for code that reads ``SQLModel.metadata``
itself (an Alembic ``env.py`` with ``target_metadata = SQLModel.metadata``, say): its graph
builds tables in ``SQLModel.metadata``, which it empties before and after, together with
SQLModel's registry. Everything else is better served by a plain ``mx.FeatureGraph()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlmodel import SQLModel
from sqlmodel.main import default_registry

from metaxy_orm.graph import FeatureGraph
from metaxy_orm.graph_tables import use_sqlmodel_metadata

__all__ = ["clear_sqlmodel", "isolated_graph"]


def clear_sqlmodel() -> None:
    """Forget every SQLModel table and mapped class (of features and of anything else)."""
    SQLModel.metadata.clear()
    default_registry.dispose()


@contextmanager
def isolated_graph(*, hash_truncation_length: int = 8) -> Iterator[FeatureGraph]:
    """A fresh active graph whose tables go to ``SQLModel.metadata``, emptied before and after.

    For code that looks for feature tables in ``SQLModel.metadata`` rather than in
    ``mx.metadata_of(graph)``. It empties the *whole* ``SQLModel.metadata`` and SQLModel's
    registry (tables of plain SQLModel classes included), so prefer
    ``with mx.FeatureGraph(): ...`` (or the ``mx_graph`` fixture), which touches neither::

        with isolated_graph() as graph:
            pipeline = define_video_pipeline({"video.audio": "2"})
            SQLModel.metadata.create_all(engine)
    """
    clear_sqlmodel()
    try:
        with FeatureGraph(hash_truncation_length=hash_truncation_length) as graph:
            use_sqlmodel_metadata(graph)
            yield graph
    finally:
        clear_sqlmodel()
