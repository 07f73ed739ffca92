"""Graph-level versions: fields, features and the whole snapshot.

Pure functions of the specs, computed with SHA-256 as ``VERSIONING.md`` prescribes, so that the
same graph gives the same versions on every backend and in every process. Truncation is applied
at every level: a parent's truncated version is what feeds its children.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from metaxy_orm.exceptions import InvalidSettingError
from metaxy_orm.keys import FeatureKey, FieldKey
from metaxy_orm.spec import FeatureSpec, FieldSpec

__all__ = [
    "DEFAULT_TRUNCATION",
    "VersionCalculator",
    "check_truncation",
    "parent_fields",
    "qualified_field_name",
]

DEFAULT_TRUNCATION = 8
MIN_TRUNCATION = 8
MAX_TRUNCATION = 64


def check_truncation(length: int) -> int:
    """Validate a ``hash_truncation_length``: an integer from 8 to 64."""
    if isinstance(length, bool) or not isinstance(length, int):
        raise InvalidSettingError(
            f"hash_truncation_length must be an integer, got {type(length).__name__}"
        )
    if not MIN_TRUNCATION <= length <= MAX_TRUNCATION:
        raise InvalidSettingError(
            f"hash_truncation_length must be between {MIN_TRUNCATION} and {MAX_TRUNCATION}, "
            f"got {length}"
        )
    return length


def qualified_field_name(feature: FeatureKey, field: FieldKey) -> str:
    """The text ``<feature key>.<field key>`` that identifies a field across the graph."""
    return f"{feature.to_string()}.{field.to_string()}"


def parent_fields(
    specs: Mapping[FeatureKey, FeatureSpec], feature: FeatureSpec, field: FieldSpec
) -> list[tuple[FeatureKey, FieldKey]]:
    """The upstream fields one field depends on, sorted by their qualified name.

    Explicit ``FieldSpec.deps`` name them; otherwise each upstream feature contributes its field
    with the same key if it has one, or all its fields.
    """
    found: set[tuple[FeatureKey, FieldKey]] = set()
    if field.deps is not None:
        for fdep in field.deps:
            parent = specs[fdep.feature]
            keys = parent.field_keys if fdep.fields is None else fdep.fields
            found.update((parent.key, k) for k in keys)
    else:
        for dep in feature.deps:
            parent = specs[dep.feature]
            if field.key in parent.field_keys:
                found.add((parent.key, field.key))
            else:
                found.update((parent.key, k) for k in parent.field_keys)
    return sorted(found, key=lambda pf: qualified_field_name(*pf))


def _sha256(chunks: list[str], truncation: int) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk.encode("utf-8"))
    return digest.hexdigest()[:truncation]


class VersionCalculator:
    """Computes and memoizes the versions of a set of specs at one truncation length."""

    def __init__(self, specs: Mapping[FeatureKey, FeatureSpec], truncation: int) -> None:
        self._specs = specs
        self._truncation = check_truncation(truncation)
        self._fields: dict[tuple[FeatureKey, FieldKey], str] = {}
        self._features: dict[FeatureKey, str] = {}

    @property
    def truncation(self) -> int:
        return self._truncation

    def field_version(self, feature: FeatureKey, field: FieldKey) -> str:
        cached = self._fields.get((feature, field))
        if cached is not None:
            return cached
        spec = self._specs[feature]
        field_spec = spec.field(field)
        chunks = [qualified_field_name(feature, field), field_spec.code_version]
        chunks += [
            self.field_version(p, g) for p, g in parent_fields(self._specs, spec, field_spec)
        ]
        version = _sha256(chunks, self._truncation)
        self._fields[(feature, field)] = version
        return version

    def field_versions(self, feature: FeatureKey) -> dict[str, str]:
        """Field key text -> field version, in field key order."""
        spec = self._specs[feature]
        return {str(k): self.field_version(feature, k) for k in sorted(spec.field_keys, key=str)}

    def feature_version(self, feature: FeatureKey) -> str:
        cached = self._features.get(feature)
        if cached is None:
            chunks: list[str] = []
            for key, version in self.field_versions(feature).items():
                chunks += [key, version]
            cached = self._features[feature] = _sha256(chunks, self._truncation)
        return cached

    def snapshot_version(self) -> str:
        """A hash over every feature key and its feature version, sorted by key."""
        chunks: list[str] = []
        for key in sorted(self._specs, key=str):
            chunks += [key.to_string(), self.feature_version(key)]
        return _sha256(chunks, self._truncation)
