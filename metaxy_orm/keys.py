"""Feature and field keys: validated, immutable, hashable names.

A key has one or more parts. Its text form joins the parts with ``/`` (``"example/video"``);
table names join them with ``__`` and column suffixes likewise, so the rules below make both
mappings injective: parts are lowercase ``[a-z0-9_]``, start and end with a letter or digit and
never contain ``__``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Self, TypeAlias

from metaxy_orm.exceptions import ImmutableError, KeyValidationError

__all__ = ["FeatureKey", "FeatureKeyLike", "FieldKey", "FieldKeyLike"]

_PART = re.compile(r"[a-z0-9](?:[a-z0-9_]*[a-z0-9])?")
_RULE = (
    "each part must be lowercase letters, digits and single underscores, "
    "starting and ending with a letter or digit"
)


def _suggest(part: str) -> str:
    cleaned = re.sub(r"[^a-z0-9_]+", "_", part.strip().lower())
    cleaned = re.sub(r"_{2,}", "_", cleaned).strip("_")
    return cleaned


def _validate_part(kind: str, text: str, part: str) -> str:
    if not isinstance(part, str):
        raise KeyValidationError(
            f"invalid {kind} key {text!r}: parts must be strings, got {type(part).__name__}"
        )
    if "/" in part:
        raise KeyValidationError(
            f"invalid {kind} key {text!r}: part {part!r} contains '/'; "
            "pass the parts as a list or as one 'a/b' string"
        )
    if "__" in part:
        raise KeyValidationError(
            f"invalid {kind} key {text!r}: part {part!r} contains '__', which is reserved "
            "to join key parts in table and column names"
        )
    if not _PART.fullmatch(part):
        hint = _suggest(part)
        suggestion = f" Did you mean {hint!r}?" if hint and _PART.fullmatch(hint) else ""
        raise KeyValidationError(f"invalid {kind} key {text!r}: {_RULE}.{suggestion}")
    return part


class _Key:
    """Shared behaviour of feature and field keys."""

    __slots__ = ("_parts",)
    _kind = "key"
    _parts: tuple[str, ...]

    def __init__(self, key: str | Sequence[str] | _Key) -> None:
        if isinstance(key, _Key):
            parts: tuple[str, ...] = key.parts
        elif isinstance(key, str):
            if not key:
                raise KeyValidationError(f"invalid {self._kind} key: it is empty")
            parts = tuple(key.split("/"))
            for part in parts:
                if part == "":
                    raise KeyValidationError(
                        f"invalid {self._kind} key {key!r}: empty part (leading, trailing "
                        "or doubled '/')"
                    )
        elif isinstance(key, Sequence) and not isinstance(key, bytes | bytearray):
            parts = tuple(key)
            if not parts:
                raise KeyValidationError(f"invalid {self._kind} key: it has no parts")
        else:
            raise KeyValidationError(
                f"invalid {self._kind} key: expected a string, a list of strings or a "
                f"{type(self).__name__}, got {type(key).__name__}"
            )
        text = "/".join(str(p) for p in parts)
        for part in parts:
            _validate_part(self._kind, text, part)
        object.__setattr__(self, "_parts", parts)

    @property
    def parts(self) -> tuple[str, ...]:
        """The key's parts, in order."""
        return self._parts

    def to_string(self) -> str:
        """The text form: parts joined by ``/``."""
        return "/".join(self._parts)

    def __str__(self) -> str:
        return self.to_string()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_string()!r})"

    def __eq__(self, other: object) -> bool:
        if type(other) is type(self):
            return self._parts == other._parts
        return NotImplemented

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._parts))

    def __lt__(self, other: Self) -> bool:
        return self.to_string() < other.to_string()

    def __setattr__(self, name: str, value: object) -> None:
        raise ImmutableError(f"{type(self).__name__} is immutable")


class FeatureKey(_Key):
    """The name of a feature, e.g. ``FeatureKey("example/video")``."""

    __slots__ = ()
    _kind = "feature"

    @property
    def table_name(self) -> str:
        """The default table name: the parts joined by ``__``."""
        return "__".join(self._parts)


class FieldKey(_Key):
    """The name of a field of a feature, e.g. ``FieldKey("audio")``."""

    __slots__ = ()
    _kind = "field"

    @property
    def column_suffix(self) -> str:
        """The suffix of this field's system columns: the parts joined by ``__``."""
        return "__".join(self._parts)


FeatureKeyLike: TypeAlias = FeatureKey | str | Sequence[str]
FieldKeyLike: TypeAlias = FieldKey | str | Sequence[str]
