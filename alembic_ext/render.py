"""How our operations and column types are written into revision files.

- The renderers (registered in Alembic's ``renderers`` dispatcher, as Alembic registers its
  own) write ``mxop.record_graph_changes({...}, snapshot_version=...)`` with the features that
  changed as a Python literal, preceded by comments that list what changed, and
  ``mxop.revert_graph_changes({key: version}, snapshot_version=...)``; the
  data operations as calls with literal arguments, and ``materialization_id=revision`` (the
  revision module's own id) where the operation has no id of its own yet. ``mxop`` is
  :mod:`alembic_ext.op`, imported by the revision (``from alembic_ext import op as mxop``): its
  functions are typed, so revisions type-check, which Alembic's ``op`` cannot do for operations
  registered at run time. A proposal (:class:`~alembic_ext.ops.proposal.CommentedOutOp`) is its
  note, then the operation commented out.
- :func:`render_item` is a ``render_item`` hook: Alembic writes a type from outside
  SQLAlchemy as ``<module>.<repr>`` (``sqlmodel.sql.sqltypes.AutoString()``) but imports
  nothing for it, so the revision fails with a ``NameError``. The hook adds the import
  (``import sqlmodel.sql.sqltypes`` for SQLModel's types, ``import <module>`` for any other,
  including ours) and leaves the rendering itself to Alembic.

Literals are written the way ``ruff format`` would (double quotes, one item per line when a
line would pass 100 columns, trailing commas), so revision files stay diff-friendly.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from alembic.autogenerate import renderers
from alembic.autogenerate.render import render_op
from sqlalchemy.types import TypeEngine

from alembic_ext.ops import (
    BackfillFeatureOp,
    CannotUndoCleanupOp,
    CleanupFeatureOp,
    CommentedOutOp,
    DeleteMaterializationOp,
    ReconcileFeaturesOp,
    RecordGraphChangesOp,
    RecordGraphSnapshotOp,
    RemoveGraphSnapshotOp,
    RevertGraphChangesOp,
)

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext

__all__ = ["OP_IMPORT", "OP_PREFIX", "python_literal", "render_item"]

#: How revisions name :mod:`alembic_ext.op`, and the import that gives them that name.
OP_PREFIX = "mxop."
OP_IMPORT = "from alembic_ext import op as mxop"

_WIDTH = 96  # 100 columns, minus the 4 of the function body the template puts us in

#: The width left to the code being rendered: less inside a comment (``# ``).
_width: ContextVar[int] = ContextVar("alembic_ext_render_width", default=_WIDTH)


@contextmanager
def _narrower(columns: int) -> Iterator[None]:
    token = _width.set(_width.get() - columns)
    try:
        yield
    finally:
        _width.reset(token)


def _flat(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)  # a valid Python string literal, double-quoted
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flat(k)}: {_flat(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flat(v) for v in value) + "]"
    from metaxy_orm.exceptions import MigrationArgumentError

    raise MigrationArgumentError(
        f"cannot write {type(value).__name__} into a revision file: {value!r}"
    )


def python_literal(value: Any, *, indent: int = 0, prefix: int = 0) -> str:
    """``value`` (JSON-like data) as Python source, wrapped to fit the line width.

    ``indent`` is the indentation of the current line, ``prefix`` how many characters precede
    the value on it (e.g. a dict key).
    """
    flat = _flat(value)
    if indent + prefix + len(flat) + 1 <= _width.get() or not isinstance(
        value, dict | list | tuple
    ):
        return flat
    pad = " " * (indent + 4)
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            head = f"{_flat(key)}: "
            items.append(f"{pad}{head}{python_literal(item, indent=indent + 4, prefix=len(head))},")
        opening, closing = "{", "}"
    else:
        items = [f"{pad}{python_literal(item, indent=indent + 4)}," for item in value]
        opening, closing = "[", "]"
    return opening + "\n" + "\n".join(items) + "\n" + " " * indent + closing


def _prefix(autogen_context: AutogenContext) -> str:
    """``mxop.``, with the import of :mod:`alembic_ext.op` added to the revision."""
    if autogen_context.imports is not None:
        autogen_context.imports.add(OP_IMPORT)
    return OP_PREFIX


@renderers.dispatch_for(RecordGraphSnapshotOp)
def _render_record_graph_snapshot(
    autogen_context: AutogenContext, op: RecordGraphSnapshotOp
) -> list[str]:
    lines = [f"# {line}" for line in op.diff.describe()] if op.diff is not None else []
    call = f"{_prefix(autogen_context)}record_graph_snapshot("
    literal = python_literal(op.snapshot, indent=4)
    if "\n" in literal:
        lines.append(f"{call}\n    {literal}\n)")
    else:
        lines.append(f"{call}{literal})")
    return lines


@renderers.dispatch_for(RemoveGraphSnapshotOp)
def _render_remove_graph_snapshot(
    autogen_context: AutogenContext, op: RemoveGraphSnapshotOp
) -> str:
    return f"{_prefix(autogen_context)}remove_graph_snapshot({_flat(op.snapshot_version)})"


@renderers.dispatch_for(RecordGraphChangesOp)
def _render_record_graph_changes(
    autogen_context: AutogenContext, op: RecordGraphChangesOp
) -> list[str]:
    lines = [f"# {line}" for line in op.diff.describe()] if op.diff is not None else []
    call = _call(
        autogen_context,
        "record_graph_changes",
        op.changes,
        snapshot_version=op.snapshot_version,
        hash_truncation_length=op.hash_truncation_length,
    )
    return [*lines, call]


@renderers.dispatch_for(RevertGraphChangesOp)
def _render_revert_graph_changes(autogen_context: AutogenContext, op: RevertGraphChangesOp) -> str:
    return _call(
        autogen_context,
        "revert_graph_changes",
        op.feature_versions,
        snapshot_version=op.snapshot_version,
    )


class _Code(str):
    """An argument that is Python source already (a name such as ``revision``), not a value."""

    __slots__ = ()


def _argument(value: Any, *, indent: int, prefix: int) -> str:
    if isinstance(value, _Code):
        return str(value)
    return python_literal(value, indent=indent, prefix=prefix)


def _call(autogen_context: AutogenContext, name: str, *args: Any, **kwargs: Any) -> str:
    """``mxop.name(args, key=value)``: on one line if it fits, else one argument per line, with a
    trailing comma (a layout ``ruff format`` keeps)."""
    head = f"{_prefix(autogen_context)}{name}("
    flat = [_argument(a, indent=0, prefix=0) for a in args]
    flat += [f"{k}={_argument(v, indent=0, prefix=0)}" for k, v in kwargs.items()]
    one_line = head + ", ".join(flat) + ")"
    if len(one_line) <= _width.get() and "\n" not in one_line:
        return one_line
    lines = [head]
    lines += [f"    {_argument(a, indent=4, prefix=0)}," for a in args]
    lines += [f"    {k}={_argument(v, indent=4, prefix=len(k) + 1)}," for k, v in kwargs.items()]
    return "\n".join([*lines, ")"])


def _comment(text: str | None) -> list[str]:
    """A paragraph as comment lines, wrapped to the width; a `code span` is never split."""
    if not text:
        return []
    width = _width.get() - 2
    kept = re.sub(
        r"`[^`]*`",
        lambda m: m.group(0).replace(" ", "\0") if len(m.group(0)) <= width else m.group(0),
        text,
    )
    lines = textwrap.wrap(kept, width=width, break_on_hyphens=False, break_long_words=False)
    return [f"# {line.replace(chr(0), ' ')}" for line in lines]


def _materialization_id(value: str | None) -> Any:
    return _Code("revision") if value is None else value


def _keys(features: list[str]) -> str | list[str]:
    return features[0] if len(features) == 1 else features


@renderers.dispatch_for(ReconcileFeaturesOp)
def _render_reconcile_features(
    autogen_context: AutogenContext, op: ReconcileFeaturesOp
) -> list[str]:
    versions = op.features
    features: Any = (
        dict(versions) if any(v is not None for v in versions.values()) else list(versions)
    )
    call = _call(
        autogen_context,
        "reconcile_features",
        features,
        materialization_id=_materialization_id(op.materialization_id),
    )
    return [*_comment(op.note), call]


@renderers.dispatch_for(DeleteMaterializationOp)
def _render_delete_materialization(
    autogen_context: AutogenContext, op: DeleteMaterializationOp
) -> str:
    return _call(
        autogen_context,
        "delete_materialization",
        _keys(op.features),
        materialization_id=_materialization_id(op.materialization_id),
    )


@renderers.dispatch_for(BackfillFeatureOp)
def _render_backfill_feature(autogen_context: AutogenContext, op: BackfillFeatureOp) -> str:
    if isinstance(op.source, str):
        source: Any = op.source
    elif isinstance(op.source, sa.TextClause) and not op.source._bindparams:
        prefix = autogen_context.opts.get("sqlalchemy_module_prefix") or "sa."
        source = _Code(f"{prefix}text({_flat(op.source.text)})")
    else:
        from metaxy_orm.exceptions import MigrationError

        raise MigrationError(
            f"cannot write the backfill source of feature {op.feature!r} into a revision file "
            f"({type(op.source).__name__}); give a table name or sa.text(...) without bound "
            "parameters, or write the operation by hand"
        )
    return _call(
        autogen_context,
        "backfill_feature",
        op.feature,
        source,
        materialization_id=_materialization_id(op.materialization_id),
    )


@renderers.dispatch_for(CleanupFeatureOp)
def _render_cleanup_feature(autogen_context: AutogenContext, op: CleanupFeatureOp) -> str:
    return _call(autogen_context, "cleanup_feature", op.feature, keep_last=op.keep_last)


@renderers.dispatch_for(CannotUndoCleanupOp)
def _render_cannot_undo_cleanup(
    autogen_context: AutogenContext, op: CannotUndoCleanupOp
) -> list[str]:
    note = (
        "The rows the cleanup deleted cannot be restored: this stops a downgrade. Pass "
        "downgrade_anyway=True to go on without them."
    )
    kwargs: dict[str, Any] = {"keep_last": op.keep_last}
    if op.downgrade_anyway:
        kwargs["downgrade_anyway"] = True
    return [*_comment(note), _call(autogen_context, "cannot_undo_cleanup", op.feature, **kwargs)]


@renderers.dispatch_for(CommentedOutOp)
def _render_commented_out(autogen_context: AutogenContext, op: CommentedOutOp) -> list[str]:
    with _narrower(2):
        lines = [
            line for text in render_op(autogen_context, op.operation) for line in text.split("\n")
        ]
    return [*_comment(op.note), *(f"# {line}" if line else "#" for line in lines)]


def _import_for(module: str) -> str:
    if module == "sqlmodel" or module.startswith("sqlmodel."):
        # Alembic writes sqlmodel.sql.sqltypes.AutoString(); importing the package would do at
        # run time, but a type checker only knows the submodule once it is imported.
        return "import sqlmodel.sql.sqltypes"
    return f"import {module}"


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Alembic ``render_item`` hook: import the module of every non-SQLAlchemy column type.

    Returns ``False`` so that Alembic renders the item itself; with a ``user_module_prefix``
    configured, the user has chosen how types are written and imported, so nothing is added.
    """
    if type_ != "type" or not isinstance(obj, TypeEngine):
        return False
    module = type(obj).__module__
    if module.startswith("sqlalchemy.") or autogen_context.opts.get("user_module_prefix"):
        return False
    if autogen_context.imports is not None:
        autogen_context.imports.add(_import_for(module))
    return False
