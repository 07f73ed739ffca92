"""metaxy-orm's Alembic extension: feature tables, graph snapshots and data migrations in Alembic.

In ``env.py``, replace ``context.configure(...)`` with ``alembic_ext.configure(...)`` (same
arguments). That is all: the rest plugs in through Alembic's own registries, from the
``alembic.plugins`` entry point (:mod:`alembic_ext.plugin`).

Alembic imports this package while it is itself being imported (the entry point names
``alembic_ext.plugin``), so the names below are loaded on first use, not here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alembic_ext.backfill_ops import BackfillFeatureOp as BackfillFeatureOp
    from alembic_ext.cleanup_ops import CannotUndoCleanupOp as CannotUndoCleanupOp
    from alembic_ext.cleanup_ops import CleanupFeatureOp as CleanupFeatureOp
    from alembic_ext.data_ops import DeleteMaterializationOp as DeleteMaterializationOp
    from alembic_ext.dialects import DuckDBImpl as DuckDBImpl
    from alembic_ext.environment import NAMING_CONVENTION as NAMING_CONVENTION
    from alembic_ext.environment import configure as configure
    from alembic_ext.plugin import GRAPH_OPTION as GRAPH_OPTION
    from alembic_ext.plugin import PLUGIN_NAME as PLUGIN_NAME
    from alembic_ext.plugin import PROGRESS_LOGGER as PROGRESS_LOGGER
    from alembic_ext.plugin import RECONCILE_OPTION as RECONCILE_OPTION
    from alembic_ext.plugin import STORE_OPTION as STORE_OPTION
    from alembic_ext.reconcile_ops import ReconcileFeaturesOp as ReconcileFeaturesOp
    from alembic_ext.render import render_item as render_item
    from alembic_ext.snapshot_ops import RecordGraphSnapshotOp as RecordGraphSnapshotOp
    from alembic_ext.snapshot_ops import RemoveGraphSnapshotOp as RemoveGraphSnapshotOp

_LAZY = {
    "BackfillFeatureOp": "alembic_ext.backfill_ops",
    "CannotUndoCleanupOp": "alembic_ext.cleanup_ops",
    "CleanupFeatureOp": "alembic_ext.cleanup_ops",
    "DeleteMaterializationOp": "alembic_ext.data_ops",
    "DuckDBImpl": "alembic_ext.dialects",
    "GRAPH_OPTION": "alembic_ext.plugin",
    "NAMING_CONVENTION": "alembic_ext.environment",
    "PLUGIN_NAME": "alembic_ext.plugin",
    "PROGRESS_LOGGER": "alembic_ext.plugin",
    "RECONCILE_OPTION": "alembic_ext.plugin",
    "ReconcileFeaturesOp": "alembic_ext.reconcile_ops",
    "RecordGraphSnapshotOp": "alembic_ext.snapshot_ops",
    "RemoveGraphSnapshotOp": "alembic_ext.snapshot_ops",
    "STORE_OPTION": "alembic_ext.plugin",
    "configure": "alembic_ext.environment",
    "render_item": "alembic_ext.render",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'alembic_ext' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
