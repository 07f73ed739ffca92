"""How our operations and column types are written into revision files.

- The renderers (registered in Alembic's ``renderers`` dispatcher, as Alembic registers its
  own) write ``op.record_graph_snapshot({...})`` with the whole snapshot as a Python literal,
  preceded by comments that list what changed, and ``op.remove_graph_snapshot("...")``.
- :func:`render_item` is a ``render_item`` hook: Alembic writes a type from outside
  SQLAlchemy as ``<module>.<repr>`` (``sqlmodel.sql.sqltypes.AutoString()``) but imports
  nothing for it, so the revision fails with a ``NameError``. The hook adds the import
  (``import sqlmodel`` for SQLModel's types, ``import <module>`` for any other, including
  ours) and leaves the rendering itself to Alembic.

Literals are written the way ``ruff format`` would (double quotes, one item per line when a
line would pass 100 columns, trailing commas), so revision files stay diff-friendly.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from alembic.autogenerate import renderers
from sqlalchemy.types import TypeEngine

from alembic_ext.snapshot_ops import RecordGraphSnapshotOp, RemoveGraphSnapshotOp

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext

__all__ = ["python_literal", "render_item"]

_WIDTH = 96  # 100 columns, minus the 4 of the function body the template puts us in


def _flat(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)  # a valid Python string literal, double-quoted
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flat(k)}: {_flat(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flat(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} into a revision file: {value!r}")


def python_literal(value: Any, *, indent: int = 0, prefix: int = 0) -> str:
    """``value`` (JSON-like data) as Python source, wrapped to fit the line width.

    ``indent`` is the indentation of the current line, ``prefix`` how many characters precede
    the value on it (e.g. a dict key).
    """
    flat = _flat(value)
    if indent + prefix + len(flat) + 1 <= _WIDTH or not isinstance(value, dict | list | tuple):
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
    return str(autogen_context.opts.get("alembic_module_prefix") or "op.")


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


def _import_for(module: str) -> str:
    if module == "sqlmodel" or module.startswith("sqlmodel."):
        return "import sqlmodel"  # its package imports sqlmodel.sql.sqltypes, by convention
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
