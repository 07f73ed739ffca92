"""A griffe extension for the API reference: the library's reST markup, read as Markdown.

The docstrings use reST inline roles (``:class:`~metaxy_orm.graph.FeatureGraph```,
``:meth:`close```) and literal blocks introduced by ``::``. mkdocstrings renders Markdown, so
each role becomes an *optional* cross-reference (a link where the object is documented on the
site, plain code elsewhere: never a broken link under ``mkdocs build --strict``) and ``::``
becomes ``:`` (the indented block under it is already a Markdown code block).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|const):`(?P<target>[^`]+)`")
_LITERAL = re.compile(r"(\S)::$", flags=re.MULTILINE)
_LITERAL_ALONE = re.compile(r"^\s*::$\n?", flags=re.MULTILINE)
_ROOTS = ("metaxy_orm", "alembic_ext", "example_app")


def _identifier(obj: griffe.Object, target: str) -> str | None:
    """The full path of ``target`` as seen from ``obj``'s scope, or None if it cannot be told."""
    if target.startswith(_ROOTS):
        return target
    first, _, rest = target.partition(".")
    scope: griffe.Object | None = obj
    while scope is not None:
        try:
            resolved = scope.resolve(first)
        except (griffe.NameResolutionError, AttributeError):
            scope = scope.parent
            continue
        return f"{resolved}.{rest}" if rest else resolved
    return None


def _role(obj: griffe.Object, match: re.Match[str]) -> str:
    target = match["target"].strip()
    short = target.startswith("~")
    target = target.lstrip("~.")
    shown = target.rsplit(".", 1)[-1] if short else target
    identifier = _identifier(obj, target)
    if identifier is None:
        return f"`{shown}`"
    return f'<autoref identifier="{identifier}" optional><code>{shown}</code></autoref>'


class RstRoles(griffe.Extension):
    """Rewrite reST roles and ``::`` in every docstring before mkdocstrings renders it."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        docstring = obj.docstring
        if docstring is None:
            return
        text = _ROLE.sub(lambda match: _role(obj, match), docstring.value)
        text = _LITERAL_ALONE.sub("", text)
        docstring.value = _LITERAL.sub(r"\1:", text)
