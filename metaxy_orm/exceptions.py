"""The one place where metaxy-orm's exceptions live.

Every error derives from :class:`MetaxyError`, and also from the builtin that best describes it
(``ValueError``, ``KeyError``...), so ``except ValueError`` keeps working for users who do not
know our hierarchy. Messages always name the feature, field or column at fault and, where there
is one, what to do about it.
"""

from __future__ import annotations

from collections.abc import Iterable


class MetaxyError(Exception):
    """Base class of every error raised by metaxy-orm."""


class KeyValidationError(MetaxyError, ValueError):
    """A feature or field key does not follow the key rules."""


class FeatureSpecError(MetaxyError, ValueError):
    """A feature definition is invalid; raised when the class is defined."""


class DuplicateFeatureError(FeatureSpecError):
    """A feature key was defined twice in the same graph."""


class CycleError(FeatureSpecError):
    """The feature dependencies form a cycle."""


class FeatureNotFoundError(MetaxyError, KeyError):
    """A feature was looked up in a graph that does not hold it."""

    def __init__(self, key: str, available: Iterable[str]) -> None:
        names = sorted(available)
        hint = f" Known features: {', '.join(names)}." if names else " The graph is empty."
        super().__init__(f"feature '{key}' is not in this graph.{hint}")
        self.key = key

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class UnsupportedHashAlgorithmError(MetaxyError, ValueError):
    """The hash algorithm is unknown, or the backend cannot compute it."""


class SnapshotError(MetaxyError, ValueError):
    """A graph snapshot cannot be recorded or read (malformed data, empty graph, no table)."""


class StoreError(MetaxyError):
    """A metadata store operation cannot be carried out."""


class StoreTargetError(StoreError, TypeError):
    """``MetadataStore(target)`` was given something that is not a database target."""


class InvalidRowsError(StoreError, ValueError):
    """A batch given to ``write`` or ``resolve_update`` is malformed; nothing was written."""


class UnsupportedDatabaseVersionError(StoreError, RuntimeError):
    """The database server is too old for what the store needs; the message names what lacks."""
