"""An independent reference of ``VERSIONING.md``, written with ``hashlib`` and plain Python.

Nothing here imports ``metaxy_orm.hashing``, ``metaxy_orm.resolve`` or ``metaxy_orm.versioning``:
the store's output is checked against this module, so it must not share code with the store.
Graphs are described with small frozen dataclasses (:class:`RefFeature`, :class:`RefField`);
:func:`from_specs` translates library specs into them (data only, no logic is borrowed).

Rows are kept as ``{id tuple: {column: value}}`` dictionaries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SEPARATOR = "|"
INITIAL_CODE_VERSION = "__metaxy_initial__"

IdKey = tuple[Any, ...]
#: feature key -> sample id -> field key -> value (a per-field provenance or data version)
FieldValues = Mapping[str, Mapping[IdKey, Mapping[str, str]]]


# -- text forms and hashes --------------------------------------------------------------------


def digest(text: str, algorithm: str) -> str:
    """The lowercase hex digest of the UTF-8 bytes of ``text``."""
    data = text.encode("utf-8")
    if algorithm == "md5":
        return hashlib.md5(data).hexdigest()
    if algorithm == "sha256":
        return hashlib.sha256(data).hexdigest()
    raise ValueError(f"the reference knows md5 and sha256, not {algorithm!r}")


def hash_parts(parts: Sequence[str], algorithm: str, truncation: int) -> str:
    """``trunc_T(H("|".join(parts)))``."""
    return digest(SEPARATOR.join(parts), algorithm)[:truncation]


def _sha256_chunks(chunks: Iterable[str], truncation: int) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk.encode("utf-8"))
    return h.hexdigest()[:truncation]


def column_suffix(field: str) -> str:
    """Multi-part field keys join their parts with ``__`` in column names."""
    return field.replace("/", "__")


def provenance_column(field: str) -> str:
    return f"metaxy_provenance__{column_suffix(field)}"


def data_version_column(field: str) -> str:
    return f"metaxy_data_version__{column_suffix(field)}"


# -- graph description ------------------------------------------------------------------------


@dataclass(frozen=True)
class RefDep:
    """A feature's dependency on an upstream feature."""

    feature: str
    optional: bool = False


@dataclass(frozen=True)
class RefField:
    """A field; ``deps=None`` is the default mapping, otherwise ``(feature, fields or None)``.

    An empty ``deps`` is "no explicit deps" (the default mapping), as in the reference system
    (VERSIONING.md); ``independent=True`` is a field fed by no upstream field.
    """

    key: str
    code_version: str = INITIAL_CODE_VERSION
    deps: tuple[tuple[str, tuple[str, ...] | None], ...] | None = None
    independent: bool = False


@dataclass(frozen=True)
class RefFeature:
    key: str
    id_columns: tuple[str, ...]
    fields: tuple[RefField, ...]
    deps: tuple[RefDep, ...] = ()

    @property
    def field_keys(self) -> list[str]:
        """Field keys sorted by their text form."""
        return sorted(f.key for f in self.fields)

    def field(self, key: str) -> RefField:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)


def from_specs(specs: Iterable[Any]) -> RefGraph:
    """A reference graph from ``metaxy_orm.FeatureSpec`` objects (their data only)."""
    features = []
    for spec in specs:
        fields = []
        for f in spec.fields:
            deps = None
            if f.deps is not None:
                deps = tuple(
                    (
                        fd.feature.to_string(),
                        None if fd.fields is None else tuple(k.to_string() for k in fd.fields),
                    )
                    for fd in f.deps
                )
            fields.append(
                RefField(f.key.to_string(), str(f.code_version), deps, bool(f.independent))
            )
        features.append(
            RefFeature(
                key=spec.key.to_string(),
                id_columns=tuple(spec.id_columns),
                fields=tuple(fields),
                deps=tuple(RefDep(d.feature.to_string(), bool(d.optional)) for d in spec.deps),
            )
        )
    return RefGraph(features)


class RefGraph:
    """Graph-level and row-level versions of ``VERSIONING.md``, computed naively."""

    def __init__(self, features: Iterable[RefFeature]) -> None:
        self.features: dict[str, RefFeature] = {f.key: f for f in features}

    def __getitem__(self, key: str) -> RefFeature:
        return self.features[key]

    def topological(self) -> list[str]:
        done: list[str] = []
        while len(done) < len(self.features):
            for key in sorted(self.features):
                if key not in done and all(d.feature in done for d in self.features[key].deps):
                    done.append(key)
                    break
            else:
                raise ValueError("cycle in the reference graph")
        return done

    # -- graph level (always sha256) ------------------------------------------------------

    def parent_fields(self, feature: str, field: str) -> list[tuple[str, str]]:
        """The upstream fields of ``feature.field``, sorted by the text ``P.g``."""
        spec = self.features[feature]
        f = spec.field(field)
        found: set[tuple[str, str]] = set()
        if f.independent:
            return []
        if f.deps:
            for parent, wanted in f.deps:
                keys = wanted if wanted is not None else [g.key for g in self[parent].fields]
                found.update((parent, g) for g in keys)
        else:
            for dep in spec.deps:
                parent_keys = [g.key for g in self[dep.feature].fields]
                if field in parent_keys:
                    found.add((dep.feature, field))
                else:
                    found.update((dep.feature, g) for g in parent_keys)
        return sorted(found, key=lambda pg: f"{pg[0]}.{pg[1]}")

    def field_version(self, feature: str, field: str, truncation: int) -> str:
        chunks = [f"{feature}.{field}", self[feature].field(field).code_version]
        chunks += [
            self.field_version(p, g, truncation) for p, g in self.parent_fields(feature, field)
        ]
        return _sha256_chunks(chunks, truncation)

    def feature_version(self, feature: str, truncation: int) -> str:
        chunks: list[str] = []
        for field in self[feature].field_keys:
            chunks += [field, self.field_version(feature, field, truncation)]
        return _sha256_chunks(chunks, truncation)

    def snapshot_version(self, truncation: int) -> str:
        chunks: list[str] = []
        for key in sorted(self.features):
            chunks += [key, self.feature_version(key, truncation)]
        return _sha256_chunks(chunks, truncation)

    # -- row level ------------------------------------------------------------------------

    def provenance_parts(
        self, feature: str, field: str, parents: Mapping[str, Mapping[str, str] | None]
    ) -> list[str]:
        """The parts hashed into ``provenance[field]`` for one sample.

        ``parents`` maps each upstream feature to the data versions of its latest row for the
        sample, or ``None`` when an optional upstream has no row (its parts are then empty).
        """
        parts = [field, self[feature].field(field).code_version]
        for parent, parent_field in self.parent_fields(feature, field):
            values = parents[parent]
            parts += [f"{parent}.{parent_field}", "" if values is None else values[parent_field]]
        return parts

    def expected_samples(self, feature: str, parents: FieldValues) -> list[IdKey]:
        """Samples expected downstream: in every required parent, or in any parent if none is."""
        deps = self[feature].deps
        required = [d.feature for d in deps if not d.optional]
        if required:
            keys = set(parents[required[0]])
            for parent in required[1:]:
                keys &= set(parents[parent])
        else:
            keys = set()
            for d in deps:
                keys |= set(parents[d.feature])
        return sorted(keys, key=repr)

    def expected_provenance(
        self, feature: str, parents: FieldValues, algorithm: str, truncation: int
    ) -> dict[IdKey, dict[str, str]]:
        """Per-field provenance of every expected sample of a downstream feature.

        ``parents[P][sample][g]`` is the data version of field ``g`` in P's latest row.
        """
        result: dict[IdKey, dict[str, str]] = {}
        for sample in self.expected_samples(feature, parents):
            values = {d.feature: parents[d.feature].get(sample) for d in self[feature].deps}
            result[sample] = {
                field: hash_parts(
                    self.provenance_parts(feature, field, values), algorithm, truncation
                )
                for field in self[feature].field_keys
            }
        return result

    def row_hash(self, feature: str, per_field: Mapping[str, str], algorithm: str, t: int) -> str:
        """``trunc_T(H("|".join(per_field[f] for f sorted by field key)))``."""
        return hash_parts([per_field[f] for f in self[feature].field_keys], algorithm, t)

    def system_columns(
        self,
        feature: str,
        provenance: Mapping[str, str],
        algorithm: str,
        truncation: int,
        data_versions: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """Every version column of a stored row (``data_versions`` overrides some fields)."""
        dv = {f: (data_versions or {}).get(f, provenance[f]) for f in self[feature].field_keys}
        columns: dict[str, str] = {}
        for f in self[feature].field_keys:
            columns[provenance_column(f)] = provenance[f]
            columns[data_version_column(f)] = dv[f]
        columns["metaxy_provenance"] = self.row_hash(feature, provenance, algorithm, truncation)
        columns["metaxy_data_version"] = self.row_hash(feature, dv, algorithm, truncation)
        columns["metaxy_feature_version"] = self.feature_version(feature, truncation)
        columns["metaxy_snapshot_version"] = self.snapshot_version(truncation)
        return columns

    def simulate(
        self, roots: FieldValues, algorithm: str, truncation: int
    ) -> dict[str, dict[IdKey, dict[str, str]]]:
        """The version columns of every feature after computing everything once.

        ``roots[R][sample][f]`` is the provenance the user gives for root feature ``R``;
        data versions are never overridden.
        """
        stored: dict[str, dict[IdKey, dict[str, str]]] = {}
        data_versions: dict[str, dict[IdKey, dict[str, str]]] = {}
        for key in self.topological():
            if self[key].deps:
                provenance = self.expected_provenance(key, data_versions, algorithm, truncation)
            else:
                provenance = {s: dict(v) for s, v in roots[key].items()}
            stored[key] = {
                s: self.system_columns(key, p, algorithm, truncation) for s, p in provenance.items()
            }
            data_versions[key] = provenance
        return stored
