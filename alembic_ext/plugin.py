"""The ``alembic.plugins`` entry point of metaxy-orm (``metaxy_orm = "alembic_ext.plugin"``).

Alembic (>= 1.18) imports this module and calls :func:`setup` *while Alembic itself is being
imported*: ``alembic.autogenerate`` is only half initialised at that moment, and every Alembic
run in the environment pays for what happens here, metaxy-orm project or not. So :func:`setup`
only registers what needs the parts of Alembic already loaded (``alembic.operations``):

- our migration operations (:mod:`alembic_ext.ops`), so that ``op.record_graph_snapshot``,
  ``op.reconcile_features`` and the others exist whenever a revision file runs;
- the graph-snapshot comparator, through a trampoline that imports :mod:`alembic_ext.compare`
  (and with it the feature graph, SQLModel and the renderers) only when autogenerate runs;
- a name filter, run first, that keeps Alembic from reflecting the snapshots table (which is not
  in the user's metadata), so that no setup, with or without :func:`alembic_ext.configure`,
  logs "Detected removed table" for it;
- the post-write hook of the ``metaxy`` template (:mod:`alembic_ext.write_hooks`).

The Alembic implementations of metaxy-orm's backends (for a dialect Alembic does not know) live
with their backends, in ``metaxy_orm._backends``; loading them means loading
metaxy-orm, which this entry point must not force on every Alembic run. They are loaded as soon
as both are imported, whichever comes first: here if metaxy-orm already is, else by
``metaxy_orm._backends`` when it is imported in a process where Alembic is (``env.py`` importing
the feature modules), and by :func:`alembic_ext.configure` in any case.

Alembic runs a plugin's comparators only when ``autogenerate_plugins`` names the plugin;
:func:`alembic_ext.configure` does that, or list ``"metaxy_orm"`` yourself.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext
    from alembic.operations.ops import UpgradeOps
    from alembic.runtime.plugins import Plugin
    from alembic.util import PriorityDispatchResult

__all__ = ["setup"]


def setup(plugin: Plugin) -> None:
    """Register our operations and the snapshot comparator (and the backends' implementations
    if metaxy-orm is already loaded)."""
    from alembic.script import write_hooks
    from alembic.util import DispatchPriority

    import alembic_ext.ops  # noqa: F401 - importing it registers the operations
    from alembic_ext.write_hooks import RUFF_FORMAT_HOOK, ruff_format

    write_hooks.register(RUFF_FORMAT_HOOK)(ruff_format)
    plugin.add_autogenerate_comparator(
        _skip_snapshots_table, "schema", "metaxy_graph_snapshot", priority=DispatchPriority.FIRST
    )
    # LAST: the table comparators have run, so the snapshot operation follows the DDL that it
    # may depend on, and the comparator can see (and correct) what they emitted.
    plugin.add_autogenerate_comparator(
        _compare_graph_snapshot,
        "schema",
        "metaxy_graph_snapshot",
        priority=DispatchPriority.LAST,
    )
    if "metaxy_orm._backends" in sys.modules:
        from metaxy_orm._backends import load_alembic_implementations

        load_alembic_implementations()


def _skip_snapshots_table(
    autogen_context: AutogenContext, upgrade_ops: UpgradeOps, schemas: set[str | None]
) -> PriorityDispatchResult:
    """Add the name filter that hides the snapshots table, before the table comparator runs.

    Alembic builds its name filters from ``include_name`` only, and gives plugins no other way
    in; the list it keeps them in is not public, so without it (a future Alembic) only the log
    line comes back: the comparator still takes back the ``DropTableOp``.
    """
    from alembic.util import PriorityDispatchResult

    from alembic_ext.options import hide_system_tables

    filters = getattr(autogen_context, "_name_filters", None)
    if isinstance(filters, list) and hide_system_tables not in filters:
        filters.insert(0, hide_system_tables)
    return PriorityDispatchResult.CONTINUE


def _compare_graph_snapshot(
    autogen_context: AutogenContext, upgrade_ops: UpgradeOps, schemas: set[str | None]
) -> PriorityDispatchResult:
    """Trampoline: import the comparator (and the feature graph) only when autogenerate runs."""
    from alembic_ext.compare import compare_graph_snapshot

    return compare_graph_snapshot(autogen_context, upgrade_ops, schemas)
