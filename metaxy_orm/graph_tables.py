"""Where the tables of a feature graph live: a ``MetaData`` and an ORM registry per graph.

The feature graph (:mod:`metaxy_orm.graph`) is pure core and knows nothing of SQL; this module
keeps the SQL side of each graph. The default (process-wide) graph uses ``SQLModel.metadata``
and SQLModel's default registry, so ``SQLModel.metadata.create_all(engine)`` and an Alembic
``env.py`` with ``target_metadata = SQLModel.metadata`` see every feature defined at import
time. Any other graph (``with mx.FeatureGraph(): ...``) gets a ``MetaData`` and a registry of
its own the first time a feature is defined in it: the same table can then be defined once per
graph (two versions of a pipeline in one process, a test per version) without "Table ... is
already defined for this MetaData instance", class names resolve (``relationship("Video")``)
within the graph, and nothing is left in SQLModel's metadata or registry when the graph is
dropped.

The pair is stored on the graph object itself (``FeatureGraph.sql_state``), not in a module
dictionary: the tables then live exactly as long as the graph and its classes do.
"""

from __future__ import annotations

import copy
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import registry as Registry  # noqa: N812 (SQLAlchemy's lower-case name)
from sqlmodel import SQLModel
from sqlmodel.main import default_registry

from metaxy_orm.exceptions import FeatureSpecError
from metaxy_orm.graph import FeatureGraph

__all__ = ["GraphTables", "metadata_of", "registry_of", "tables_of", "use_sqlmodel_metadata"]


class GraphTables(NamedTuple):
    """The ``MetaData`` a graph's feature tables are built in, and the ORM registry mapping them."""

    metadata: sa.MetaData
    registry: Registry


def _sqlmodel_tables() -> GraphTables:
    return GraphTables(SQLModel.metadata, default_registry)


def _fresh_tables() -> GraphTables:
    """A new ``MetaData`` set up like ``SQLModel.metadata`` (naming convention, schema).

    A pipeline defined in an isolated graph then gets the same constraint names, and so the
    same DDL, as when it is defined at import time.
    """
    template = SQLModel.metadata
    metadata = sa.MetaData(
        schema=template.schema, naming_convention=copy.copy(template.naming_convention)
    )
    return GraphTables(metadata, Registry(metadata=metadata))


def tables_of(graph: FeatureGraph | None = None) -> GraphTables:
    """The ``MetaData`` and registry of ``graph`` (default: the active graph), made on first use."""
    graph = FeatureGraph.get_active() if graph is None else graph
    state = graph.sql_state
    if isinstance(state, GraphTables):
        return state
    tables = _sqlmodel_tables() if graph is FeatureGraph.get_default() else _fresh_tables()
    graph.sql_state = tables
    return tables


def metadata_of(graph: FeatureGraph | None = None) -> sa.MetaData:
    """The ``MetaData`` holding the tables of a graph's features (default: the active graph).

    ``SQLModel.metadata`` for the default graph; the graph's own one for a graph entered with
    ``with mx.FeatureGraph(): ...``. Create the tables of a graph with
    ``mx.metadata_of(graph).create_all(engine)``, or point Alembic's ``target_metadata`` at it.
    """
    return tables_of(graph).metadata


def registry_of(graph: FeatureGraph | None = None) -> Registry:
    """The SQLAlchemy ORM registry mapping a graph's feature classes (default: the active graph)."""
    return tables_of(graph).registry


def use_sqlmodel_metadata(graph: FeatureGraph) -> None:
    """Build the tables of ``graph`` in ``SQLModel.metadata`` and SQLModel's registry.

    For code that reads ``SQLModel.metadata`` directly while defining features in a graph of
    its own (see :func:`metaxy_orm.testing.isolated_graph`). Only before the graph has a
    feature: its existing tables would otherwise be split over two ``MetaData``.
    """
    if len(graph) and tables_of(graph) != _sqlmodel_tables():
        raise FeatureSpecError(
            f"{graph!r} already has features with tables of their own MetaData; choose "
            "SQLModel.metadata before defining any feature in it"
        )
    graph.sql_state = _sqlmodel_tables()
