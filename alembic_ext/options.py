"""The names metaxy-orm adds to Alembic, and the readers of the options that carry them.

Every module of the extension may import this one; it imports none of them, and metaxy-orm only
inside the functions that need it, so it is cheap to load while Alembic itself is being imported
(the plugin entry point) and it can never be part of an import cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from alembic.util import CommandError

if TYPE_CHECKING:
    from alembic.runtime.environment import NameFilterParentNames, NameFilterType

    from metaxy_orm.graph import FeatureGraph

__all__ = [
    "GRAPH_OPTION",
    "PLUGIN_NAME",
    "PROGRESS_LOGGER",
    "RECONCILE_OPTION",
    "RECONCILE_X_ARGUMENT",
    "STORE_OPTION",
    "graph_option",
    "hide_system_tables",
    "log",
    "store_options",
]

#: The plugin's name in ``autogenerate_plugins``: the name of our ``alembic.plugins`` entry point.
PLUGIN_NAME: Final = "metaxy_orm"

#: The ``context.configure()`` option that names the graph to compare (default: the active one).
GRAPH_OPTION: Final = "metaxy_orm_graph"

#: The ``context.configure()`` option naming the features that autogenerate may reconcile
#: (a list of keys, or one comma-separated string); ``-x reconcile=a,b`` adds to it.
RECONCILE_OPTION: Final = "metaxy_orm_reconcile"

#: The command-line switch: ``alembic -x reconcile=crop,face_detection revision --autogenerate``
#: (``-x`` is an option of ``alembic`` itself: it comes before the command).
RECONCILE_X_ARGUMENT: Final = "reconcile"

#: The ``context.configure()`` option with the keyword arguments of the ``MetadataStore`` that
#: data operations use (``hash_algorithm``, ``hash_truncation_length``).
STORE_OPTION: Final = "metaxy_orm_store_options"

#: The logger of autogenerate's findings and of the data operations' progress. A child of
#: ``alembic``, so that the ``[logger_alembic]`` section of a usual ``alembic.ini`` shows it.
PROGRESS_LOGGER: Final = "alembic.metaxy_orm"

_STORE_SETTINGS: Final = frozenset({"hash_algorithm", "hash_truncation_length"})

log = logging.getLogger(PROGRESS_LOGGER)


def graph_option(opts: Mapping[str, Any]) -> FeatureGraph:
    """The feature graph of the context options (``graph=`` of configure), else the active."""
    from metaxy_orm.graph import FeatureGraph

    graph = opts.get(GRAPH_OPTION)
    if graph is None:
        return FeatureGraph.get_active()
    if not isinstance(graph, FeatureGraph):
        raise CommandError(
            f"context option {GRAPH_OPTION!r} must be a metaxy_orm.FeatureGraph, "
            f"got {type(graph).__name__}"
        )
    return graph


def store_options(opts: Mapping[str, Any]) -> dict[str, Any]:
    """The ``MetadataStore`` settings of the context options (``store_options=`` of configure)."""
    options = dict(opts.get(STORE_OPTION) or {})
    unknown = set(options) - _STORE_SETTINGS
    if unknown:
        raise CommandError(
            f"unknown store option(s) {sorted(unknown)}; the data operations take "
            f"{sorted(_STORE_SETTINGS)}"
        )
    return options


def hide_system_tables(
    name: str | None, type_: NameFilterType, parent_names: NameFilterParentNames
) -> bool:
    """An ``include_name`` filter: ``False`` for metaxy-orm's own tables (default schema): the
    graph snapshots, which the plugin owns, and the resolve state, a cache the store creates
    itself. The user's metadata lists neither, so Alembic must never reflect (or drop) them."""
    from metaxy_orm._sql.fingerprints import STATE_TABLE
    from metaxy_orm.snapshots.table import SNAPSHOTS_TABLE

    return not (
        type_ == "table"
        and name in (SNAPSHOTS_TABLE, STATE_TABLE)
        and parent_names.get("schema_name") is None
    )
