"""What changed between two graph snapshots: pure Python, no SQL.

:func:`diff_snapshots` lists added and removed features, changed feature versions, added and
removed fields and fields whose version changed (with their code versions, so a reader can tell
a code change from a change upstream). Alembic revisions write it as comments, ``mxo graph diff``
prints it and a dashboard can show it: none of them needs a database to compute it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from metaxy_orm.snapshots.model import (
    FeatureSnapshot,
    canonical_json,
    parse_snapshot,
)

__all__ = ["FeatureChange", "FieldChange", "SnapshotDiff", "diff_snapshots"]


@dataclass(frozen=True)
class FieldChange:
    """A field added (no old version), removed (no new version) or whose version changed."""

    field: str
    old_version: str | None
    new_version: str | None
    old_code_version: str | None
    new_code_version: str | None

    def describe(self) -> str:
        if self.old_version is None:
            return (
                f"field {self.field} added (version {self.new_version}, "
                f"code version {self.new_code_version})"
            )
        if self.new_version is None:
            return f"field {self.field} removed (was version {self.old_version})"
        versions = f"version {self.old_version} -> {self.new_version}"
        if self.old_code_version == self.new_code_version:
            return f"field {self.field}: {versions} (upstream changed)"
        code = f"code version {self.old_code_version} -> {self.new_code_version}"
        return f"field {self.field}: {code}, {versions}"


@dataclass(frozen=True)
class FeatureChange:
    """A feature added (no old version), removed (no new version) or changed."""

    feature: str
    old_version: str | None
    new_version: str | None
    fields: tuple[FieldChange, ...] = ()
    spec_changed: bool = False

    @property
    def added_fields(self) -> tuple[str, ...]:
        return tuple(f.field for f in self.fields if f.old_version is None)

    @property
    def removed_fields(self) -> tuple[str, ...]:
        return tuple(f.field for f in self.fields if f.new_version is None)

    @property
    def changed_fields(self) -> tuple[FieldChange, ...]:
        return tuple(f for f in self.fields if f.old_version and f.new_version)

    def describe(self) -> list[str]:
        if self.old_version is None:
            names = ", ".join(f.field for f in self.fields)
            return [f"feature {self.feature} added (version {self.new_version}; fields: {names})"]
        if self.new_version is None:
            return [f"feature {self.feature} removed (was version {self.old_version})"]
        head = f"feature {self.feature}: "
        if self.old_version != self.new_version:
            head += f"version {self.old_version} -> {self.new_version}"
        else:
            head += f"version {self.new_version} unchanged"
        if self.spec_changed:
            head += "; spec changed"
        return [head, *(f"  {f.describe()}" for f in self.fields)]


@dataclass(frozen=True)
class SnapshotDiff:
    """What changed between two snapshots, feature by feature (in the new snapshot's order)."""

    old_snapshot_version: str | None
    new_snapshot_version: str
    features: tuple[FeatureChange, ...]
    old_hash_truncation_length: int | None = None
    new_hash_truncation_length: int | None = None

    @property
    def added(self) -> tuple[str, ...]:
        return tuple(f.feature for f in self.features if f.old_version is None)

    @property
    def removed(self) -> tuple[str, ...]:
        return tuple(f.feature for f in self.features if f.new_version is None)

    @property
    def changed(self) -> tuple[FeatureChange, ...]:
        return tuple(f for f in self.features if f.old_version and f.new_version)

    def __bool__(self) -> bool:
        return bool(self.features) or (
            self.old_hash_truncation_length != self.new_hash_truncation_length
        )

    def describe(self) -> list[str]:
        """Human-readable lines, e.g. for the comments of an Alembic revision."""
        old = self.old_snapshot_version or "(none recorded)"
        lines = [f"graph snapshot {old} -> {self.new_snapshot_version}"]
        if self.old_hash_truncation_length not in (None, self.new_hash_truncation_length):
            lines.append(
                f"hash truncation length {self.old_hash_truncation_length} -> "
                f"{self.new_hash_truncation_length}"
            )
        for change in self.features:
            lines.extend(change.describe())
        return lines


def _code_versions(feature: Mapping[str, Any]) -> dict[str, str | None]:
    return {
        str(f["key"]): (None if f.get("code_version") is None else str(f["code_version"]))
        for f in feature["spec"].get("fields", [])
    }


def _without_field_versions(spec: Mapping[str, Any]) -> str:
    """The spec minus its fields' code versions, whose changes are reported per field."""
    fields = [{k: v for k, v in f.items() if k != "code_version"} for f in spec.get("fields", [])]
    return canonical_json({**spec, "fields": sorted(fields, key=lambda f: str(f.get("key")))})


def _feature_change(key: str, old: FeatureSnapshot, new: FeatureSnapshot) -> FeatureChange | None:
    old_fields, new_fields = old["field_versions"], new["field_versions"]
    old_code, new_code = _code_versions(old), _code_versions(new)
    fields = [
        FieldChange(
            name,
            old_fields.get(name),
            new_fields.get(name),
            old_code.get(name) if name in old_fields else None,
            new_code.get(name) if name in new_fields else None,
        )
        for name in sorted(set(old_fields) | set(new_fields))
        if old_fields.get(name) != new_fields.get(name)
    ]
    spec_changed = _without_field_versions(old["spec"]) != _without_field_versions(new["spec"])
    if not fields and not spec_changed and old["feature_version"] == new["feature_version"]:
        return None
    return FeatureChange(
        key, old["feature_version"], new["feature_version"], tuple(fields), spec_changed
    )


def diff_snapshots(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> SnapshotDiff:
    """What changed from ``old`` (``None``: nothing recorded yet) to ``new``.

    Lists added and removed features, changed feature versions, added and removed fields, and
    fields whose version changed, with their code versions (a field whose code version did not
    change moved because something upstream did). A spec change that moves no version (a new
    ``FeatureDep`` filter, other id columns) is reported too, as ``spec_changed``.
    """
    after = parse_snapshot(new)
    before = None if old is None else parse_snapshot(old)
    before_features = {} if before is None else before["features"]
    changes: list[FeatureChange] = []
    for key, feature in after["features"].items():
        previous = before_features.get(key)
        if previous is None:
            code = _code_versions(feature)
            changes.append(
                FeatureChange(
                    key,
                    None,
                    feature["feature_version"],
                    tuple(
                        FieldChange(name, None, version, None, code.get(name))
                        for name, version in feature["field_versions"].items()
                    ),
                )
            )
            continue
        change = _feature_change(key, previous, feature)
        if change is not None:
            changes.append(change)
    for key, feature in before_features.items():
        if key not in after["features"]:
            changes.append(FeatureChange(key, feature["feature_version"], None))
    return SnapshotDiff(
        old_snapshot_version=None if before is None else before["snapshot_version"],
        new_snapshot_version=after["snapshot_version"],
        features=tuple(changes),
        old_hash_truncation_length=None if before is None else before["hash_truncation_length"],
        new_hash_truncation_length=after["hash_truncation_length"],
    )
