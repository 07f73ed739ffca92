"""metaxy-orm's Alembic extension: feature tables, graph snapshots and data migrations in Alembic.

In ``env.py``, replace ``context.configure(...)`` with ``alembic_ext.configure(...)`` (same
arguments). That is all: the rest plugs in through Alembic's own registries, from the
``alembic.plugins`` entry point (:mod:`alembic_ext.plugin`). Revision files call metaxy-orm's
operations through :mod:`alembic_ext.op` (``from alembic_ext import op as mxop``), which is
typed. It works on every database ``metaxy_orm._backends`` supports.

Alembic imports this package while it is itself being imported (the entry point names
``alembic_ext.plugin``), so the names below are loaded on first use, not here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alembic_ext.environment import NAMING_CONVENTION as NAMING_CONVENTION
    from alembic_ext.environment import configure as configure
    from alembic_ext.ops import BackfillFeatureOp as BackfillFeatureOp
    from alembic_ext.ops import CannotUndoCleanupOp as CannotUndoCleanupOp
    from alembic_ext.ops import CleanupFeatureOp as CleanupFeatureOp
    from alembic_ext.ops import DeleteMaterializationOp as DeleteMaterializationOp
    from alembic_ext.ops import ReconcileFeaturesOp as ReconcileFeaturesOp
    from alembic_ext.ops import RecordGraphChangesOp as RecordGraphChangesOp
    from alembic_ext.ops import RecordGraphSnapshotOp as RecordGraphSnapshotOp
    from alembic_ext.ops import RemoveGraphSnapshotOp as RemoveGraphSnapshotOp
    from alembic_ext.ops import RevertGraphChangesOp as RevertGraphChangesOp
    from alembic_ext.options import GRAPH_OPTION as GRAPH_OPTION
    from alembic_ext.options import PLUGIN_NAME as PLUGIN_NAME
    from alembic_ext.options import PROGRESS_LOGGER as PROGRESS_LOGGER
    from alembic_ext.options import RECONCILE_OPTION as RECONCILE_OPTION
    from alembic_ext.options import STORE_OPTION as STORE_OPTION
    from alembic_ext.render import render_item as render_item

_LAZY = {
    "BackfillFeatureOp": "alembic_ext.ops",
    "CannotUndoCleanupOp": "alembic_ext.ops",
    "CleanupFeatureOp": "alembic_ext.ops",
    "DeleteMaterializationOp": "alembic_ext.ops",
    "GRAPH_OPTION": "alembic_ext.options",
    "NAMING_CONVENTION": "alembic_ext.environment",
    "PLUGIN_NAME": "alembic_ext.options",
    "PROGRESS_LOGGER": "alembic_ext.options",
    "RECONCILE_OPTION": "alembic_ext.options",
    "ReconcileFeaturesOp": "alembic_ext.ops",
    "RecordGraphChangesOp": "alembic_ext.ops",
    "RecordGraphSnapshotOp": "alembic_ext.ops",
    "RemoveGraphSnapshotOp": "alembic_ext.ops",
    "RevertGraphChangesOp": "alembic_ext.ops",
    "STORE_OPTION": "alembic_ext.options",
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
