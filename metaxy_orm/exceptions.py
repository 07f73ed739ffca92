"""The one place where metaxy-orm's exceptions live.

Every error derives from :class:`MetaxyError`, and also from the builtin that best describes it
(``ValueError``, ``KeyError``...), so ``except ValueError`` keeps working for users who do not
know our hierarchy. Messages always name the feature, field or column at fault and, where there
is one, what to do about it.
"""

from __future__ import annotations

import difflib
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


def known_features_hint(key: str, available: Iterable[str]) -> str:
    """ " Did you mean 'x'? Known features: ..." for a key that is not in a graph.

    The one place that says what to look for instead of a missing feature, so that a lookup,
    an unknown upstream feature and a command-line argument all answer alike.
    """
    names = sorted(set(available))
    if not names:
        return " The graph is empty: import the modules that define your features."
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    suggestion = f" Did you mean '{close[0]}'?" if close else ""
    return f"{suggestion} Known features: {', '.join(names)}."


class FeatureNotFoundError(MetaxyError, KeyError):
    """A feature was looked up in a graph that does not hold it."""

    def __init__(self, key: str, available: Iterable[str]) -> None:
        super().__init__(
            f"feature '{key}' is not in this graph.{known_features_hint(key, available)}"
        )
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


class DatabaseLockedError(StoreError, RuntimeError):
    """The database is held by another process (an embedded database has a single writer)."""


class InvalidRowsError(StoreError, ValueError):
    """A batch given to ``write`` or ``resolve_update`` is malformed; nothing was written."""


class ImmutableError(MetaxyError, AttributeError):
    """An attempt to change an immutable value (a key)."""


class EmptyHashError(MetaxyError, ValueError):
    """A hash of no parts was asked for: every hash covers at least one value."""


class InvalidSettingError(MetaxyError, ValueError):
    """A setting (hash truncation length, ...) is out of its allowed range."""


class SnapshotArgumentError(SnapshotError, TypeError):
    """A snapshot function was called with arguments that do not go together."""


class MigrationError(MetaxyError, ValueError):
    """A metaxy-orm Alembic operation was given something it cannot run, render or undo."""


class MigrationArgumentError(MigrationError, TypeError):
    """A metaxy-orm Alembic operation was given an argument of the wrong kind."""


class ConfigError(MetaxyError, ValueError):
    """A setting is missing or invalid; the message names the source to fix."""


class NotAFeatureError(MetaxyError, TypeError):
    """A store call was given something that is not a feature class."""


class UnsupportedDatabaseVersionError(StoreError, RuntimeError):
    """The database server is too old for what the store needs; the message names what lacks."""
