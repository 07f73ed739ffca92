"""The ``alembic.plugins`` entry point of metaxy-orm (``metaxy_orm = "alembic_ext.plugin"``).

Alembic (>= 1.18) imports this module and calls :func:`setup` *while Alembic itself is being
imported*: ``alembic.autogenerate`` is only half initialised at that moment. So this module
imports nothing at module level, and :func:`setup` only does registrations that need the parts
of Alembic already loaded by then (``alembic.operations``, ``alembic.ddl.impl``):

- the DuckDB dialect implementation (:mod:`alembic_ext.dialects`), so that any Alembic run on
  DuckDB works, whatever ``env.py`` does;
- our migration operations (:mod:`alembic_ext.snapshot_ops`, :mod:`alembic_ext.reconcile_ops`,
  :mod:`alembic_ext.backfill_ops`, :mod:`alembic_ext.cleanup_ops`, :mod:`alembic_ext.data_ops`),
  so that ``op.record_graph_snapshot``, ``op.reconcile_features`` and the others exist whenever
  a revision file runs;
- the graph-snapshot comparator, through a trampoline that imports :mod:`alembic_ext.compare`
  (and with it the feature graph, SQLModel and the renderers) only when autogenerate runs.

Alembic runs a plugin's comparators only when ``autogenerate_plugins`` names the plugin;
:func:`alembic_ext.configure` does that, or list :data:`PLUGIN_NAME` yourself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext
    from alembic.operations.ops import UpgradeOps
    from alembic.runtime.plugins import Plugin
    from alembic.util import PriorityDispatchResult

__all__ = [
    "GRAPH_OPTION",
    "PLUGIN_NAME",
    "PROGRESS_LOGGER",
    "RECONCILE_OPTION",
    "STORE_OPTION",
    "setup",
]

#: The plugin's name in ``autogenerate_plugins``: the name of our ``alembic.plugins`` entry point.
PLUGIN_NAME: Final = "metaxy_orm"

#: The ``context.configure()`` option that names the graph to compare (default: the active one).
GRAPH_OPTION: Final = "metaxy_orm_graph"

#: The ``context.configure()`` option naming the features that autogenerate may reconcile
#: (a list of keys, or one comma-separated string); ``-x reconcile=a,b`` adds to it.
RECONCILE_OPTION: Final = "metaxy_orm_reconcile"

#: The ``context.configure()`` option with the keyword arguments of the ``MetadataStore`` that
#: data operations use (``hash_algorithm``, ``hash_truncation_length``).
STORE_OPTION: Final = "metaxy_orm_store_options"

#: The logger of autogenerate's findings and of the data operations' progress. A child of
#: ``alembic``, so that the ``[logger_alembic]`` section of a usual ``alembic.ini`` shows it.
PROGRESS_LOGGER: Final = "alembic.metaxy_orm"


def setup(plugin: Plugin) -> None:
    """Register the DuckDB implementation, our operations and the snapshot comparator."""
    from alembic.util import DispatchPriority

    # Importing these registers the DuckDB implementation and our operations.
    import alembic_ext.backfill_ops
    import alembic_ext.cleanup_ops
    import alembic_ext.data_ops
    import alembic_ext.dialects
    import alembic_ext.reconcile_ops
    import alembic_ext.snapshot_ops  # noqa: F401

    # LAST: the table comparators have run, so the snapshot operation follows the DDL that it
    # may depend on, and the comparator can see (and correct) what they emitted.
    plugin.add_autogenerate_comparator(
        _compare_graph_snapshot,
        "schema",
        "metaxy_graph_snapshot",
        priority=DispatchPriority.LAST,
    )


def _compare_graph_snapshot(
    autogen_context: AutogenContext, upgrade_ops: UpgradeOps, schemas: set[str | None]
) -> PriorityDispatchResult:
    """Trampoline: import the comparator (and the feature graph) only when autogenerate runs."""
    from alembic_ext.compare import compare_graph_snapshot

    return compare_graph_snapshot(autogen_context, upgrade_ops, schemas)
