"""Lineage relationships: how a feature's samples relate to those of one upstream feature.

A :class:`~metaxy_orm.FeatureDep` carries one relationship (``lineage=``):

- identity (1:1, the default): parent and child have the same id columns;
- expansion (1:N): one parent sample becomes many child samples (a video, its frames). ``on``
  names the parent's id columns; the child has them and more. The expected provenance is
  computed per parent and every child of a parent carries it;
- aggregation (N:1): many parent samples become one child sample (frames, their video).
  ``on`` names the group columns, by default the child's id columns; the data versions of a
  group's members are hashed in member order (``VERSIONING.md``, "Lineage").

The spelling follows the reference system's public API
(``LineageRelationship.expansion(on=[...])``). This module is pure: the definition-time checks
live here, the SQL of each relationship in :mod:`metaxy_orm._sql.lineage`.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from metaxy_orm.exceptions import FeatureSpecError

if TYPE_CHECKING:
    from metaxy_orm.spec import FeatureDep, FeatureSpec

__all__ = [
    "LineageRelationship",
    "LineageRelationshipType",
    "check_lineage",
    "expected_key",
]


class LineageRelationshipType(StrEnum):
    """The cardinality of a dependency, written as the reference system writes it."""

    IDENTITY = "1:1"
    EXPANSION = "1:N"
    AGGREGATION = "N:1"


def _columns(on: Sequence[str] | str | None, what: str) -> tuple[str, ...] | None:
    if on is None:
        return None
    if isinstance(on, str):
        on = [on]
    columns = tuple(on)
    if not columns:
        raise FeatureSpecError(f"{what}: on= must name at least one column")
    for column in columns:
        if not isinstance(column, str) or not column:
            raise FeatureSpecError(f"{what}: on= holds {column!r}, which is not a column name")
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise FeatureSpecError(f"{what}: on= names column(s) {repeated} more than once")
    return columns


class LineageRelationship:
    """One lineage relationship; build it with :meth:`identity`, :meth:`expansion` or
    :meth:`aggregation`."""

    __slots__ = ("on", "type")
    type: LineageRelationshipType
    on: tuple[str, ...] | None

    def __init__(
        self, type: LineageRelationshipType | str, on: Sequence[str] | None = None
    ) -> None:
        try:
            self.type = LineageRelationshipType(type)
        except ValueError:
            choices = ", ".join(repr(t.value) for t in LineageRelationshipType)
            raise FeatureSpecError(
                f"unknown lineage relationship {type!r}; choose one of {choices}"
            ) from None
        self.on = _columns(on, f"{self.type.name.lower()} lineage")
        if self.type is LineageRelationshipType.IDENTITY and self.on is not None:
            raise FeatureSpecError("identity lineage takes no on= columns")
        if self.type is LineageRelationshipType.EXPANSION and self.on is None:
            raise FeatureSpecError(
                "expansion lineage needs on=: the parent's id columns that link each child "
                "sample to its parent, e.g. LineageRelationship.expansion(on=['video_id'])"
            )

    @classmethod
    def identity(cls) -> LineageRelationship:
        """One child sample per parent sample, on the same id columns (the default)."""
        return cls(LineageRelationshipType.IDENTITY)

    @classmethod
    def expansion(cls, on: Sequence[str]) -> LineageRelationship:
        """Each parent sample becomes many child samples; ``on``: the parent's id columns."""
        return cls(LineageRelationshipType.EXPANSION, on)

    @classmethod
    def aggregation(cls, on: Sequence[str] | None = None) -> LineageRelationship:
        """Many parent samples become one child sample per group of ``on`` (default: the
        child's id columns)."""
        return cls(LineageRelationshipType.AGGREGATION, on)

    @property
    def is_identity(self) -> bool:
        return self.type is LineageRelationshipType.IDENTITY

    @property
    def is_expansion(self) -> bool:
        return self.type is LineageRelationshipType.EXPANSION

    @property
    def is_aggregation(self) -> bool:
        return self.type is LineageRelationshipType.AGGREGATION

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type.value, "on": None if self.on is None else list(self.on)}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LineageRelationship):
            return NotImplemented
        return (self.type, self.on) == (other.type, other.on)

    def __hash__(self) -> int:
        return hash((self.type, self.on))

    def __repr__(self) -> str:
        on = "" if self.on is None else f"on={list(self.on)!r}"
        return f"LineageRelationship.{self.type.name.lower()}({on})"


def _group_columns(child: FeatureSpec, dep: FeatureDep) -> tuple[str, ...]:
    """The columns on which ``dep``'s parent rows meet the child's expected rows."""
    lineage = dep.lineage
    if lineage.is_identity:
        return child.id_columns
    if lineage.on is not None:
        return lineage.on
    return child.id_columns  # aggregation without on=


def check_lineage(child: FeatureSpec, dep: FeatureDep, parent: FeatureSpec) -> None:
    """Check one dependency's lineage against both features' id columns.

    Raises :class:`~metaxy_orm.exceptions.FeatureSpecError` naming the feature and column.
    """
    where = f"feature '{child.key}': FeatureDep on '{parent.key}'"
    lineage = dep.lineage
    child_ids, parent_ids = set(child.id_columns), set(parent.id_columns)
    if lineage.is_identity:
        if child_ids != parent_ids:
            hint = (
                "LineageRelationship.expansion(on=[...])"
                if parent_ids < child_ids
                else "LineageRelationship.aggregation(on=[...])"
                if child_ids < parent_ids
                else "an expansion or aggregation lineage"
            )
            raise FeatureSpecError(
                f"feature '{child.key}': its id columns {list(child.id_columns)} differ from "
                f"those of upstream feature '{parent.key}' ({list(parent.id_columns)}); "
                f"an identity (1:1) dependency joins on the same id columns. To change "
                f"granularity, give FeatureDep(feature=..., lineage={hint})"
            )
        return
    on = _group_columns(child, dep)
    for column in on:
        if column not in parent_ids:
            raise FeatureSpecError(
                f"{where}: on= column '{column}' is not an id column of '{parent.key}' "
                f"(its id columns: {list(parent.id_columns)})"
            )
        if column not in child_ids:
            raise FeatureSpecError(
                f"{where}: on= column '{column}' is not an id column of '{child.key}' "
                f"(its id columns: {list(child.id_columns)})"
            )
    if lineage.is_expansion:
        if set(on) != parent_ids:
            raise FeatureSpecError(
                f"{where}: expansion on= must name every id column of the parent "
                f"{list(parent.id_columns)}, got {list(on)}"
            )
        if not child_ids > parent_ids:
            raise FeatureSpecError(
                f"{where}: an expansion (1:N) child needs more id columns than its parent; "
                f"'{child.key}' has {list(child.id_columns)}, '{parent.key}' has "
                f"{list(parent.id_columns)}. Add the column that tells the children apart "
                "(e.g. frame_id) to id_columns"
            )
        return
    if set(on) != child_ids:
        raise FeatureSpecError(
            f"{where}: aggregation on= must name every id column of '{child.key}' "
            f"{list(child.id_columns)} (one child sample per group), got {list(on)}"
        )
    if not parent_ids > child_ids:
        raise FeatureSpecError(
            f"{where}: an aggregation (N:1) parent needs more id columns than its child; "
            f"'{parent.key}' has {list(parent.id_columns)}, '{child.key}' has "
            f"{list(child.id_columns)}"
        )
    if dep.select:
        raise FeatureSpecError(
            f"{where}: select= is not available with aggregation lineage (a group has many "
            f"rows of '{parent.key}', so a column has no single value); selected: "
            f"{list(dep.select)}"
        )


def expected_key(spec: FeatureSpec) -> tuple[str, ...]:
    """The columns a feature's expected rows are keyed on, in the child's id column order.

    The child's id columns, except for a feature fed by expansions: then the parents' id
    columns (one expected row per parent sample). Every dependency must agree on it.
    """
    keys = {frozenset(_group_columns(spec, dep)) for dep in spec.deps}
    if len(keys) > 1:
        described = ", ".join(
            f"'{dep.feature}' ({dep.lineage.type.value} on {list(_group_columns(spec, dep))})"
            for dep in spec.deps
        )
        raise FeatureSpecError(
            f"feature '{spec.key}': its dependencies meet it at different granularities "
            f"({described}). Every dependency must key the expected rows on the same columns: "
            "a feature fed by an expansion may only have expansion dependencies on the same "
            "parent id columns"
        )
    if not keys:
        return spec.id_columns
    (key,) = keys
    return tuple(c for c in spec.id_columns if c in key)
