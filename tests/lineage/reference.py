"""An independent reference of lineage (``VERSIONING.md``, "Lineage"), with hashlib.

A twin of ``tests/store/reference.py`` for dependencies that change granularity; like it, it
imports nothing of ``metaxy_orm``'s hashing, versioning or SQL. Parent fields (which upstream
fields a field depends on) come from :class:`tests.store.reference.RefGraph`; lineage is
described here with :class:`LineageDep`.

Rows are plain dicts: id columns and one data version per field (by field key).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from store.reference import RefGraph, hash_parts

Row = Mapping[str, Any]
Key = tuple[Any, ...]


@dataclass(frozen=True)
class LineageDep:
    """How a feature meets one upstream: ``kind`` is "1:1", "1:N" or "N:1"."""

    feature: str
    kind: str = "1:1"
    on: tuple[str, ...] | None = None
    optional: bool = False


@dataclass(frozen=True)
class LineageFeature:
    key: str
    id_columns: tuple[str, ...]
    deps: tuple[LineageDep, ...]

    @property
    def expected_key(self) -> tuple[str, ...]:
        """The child's id columns, or the parents' for a feature fed by expansion."""
        for dep in self.deps:
            if dep.kind == "1:N":
                assert dep.on is not None
                return tuple(c for c in self.id_columns if c in dep.on)
        return self.id_columns


def member_order(row: Row, id_columns: Sequence[str]) -> Key:
    """Members sort by the upstream id columns; Python orders ints numerically and text by
    code point, which is the order the reference system's output follows."""
    return tuple(row[c] for c in id_columns)


def parent_values(
    dep: LineageDep,
    parent_ids: Sequence[str],
    parent_fields: Sequence[str],
    rows: Sequence[Row],
    key: Sequence[str],
    algorithm: str,
    truncation: int,
) -> dict[Key, dict[str, str]]:
    """Per expected key, the data version each parent field contributes."""
    if dep.kind != "N:1":
        return {tuple(r[c] for c in key): {f: r[f] for f in parent_fields} for r in rows}
    groups: dict[Key, list[Row]] = {}
    for row in rows:
        groups.setdefault(tuple(row[c] for c in key), []).append(row)
    result = {}
    for group, members in groups.items():
        members = sorted(members, key=lambda r: member_order(r, parent_ids))
        result[group] = {
            f: hash_parts([m[f] for m in members], algorithm, truncation) for f in parent_fields
        }
    return result


def expected_provenance(
    graph: RefGraph,
    feature: LineageFeature,
    stored: Mapping[str, Sequence[Row]],
    algorithm: str = "md5",
    truncation: int = 8,
) -> dict[Key, dict[str, str]]:
    """Expected per-field provenance of ``feature``, keyed on its expected key.

    ``stored[P]`` holds P's latest rows (id columns and data versions by field key).
    """
    key = feature.expected_key
    values = {
        dep.feature: parent_values(
            dep,
            graph[dep.feature].id_columns,
            graph[dep.feature].field_keys,
            stored[dep.feature],
            key,
            algorithm,
            truncation,
        )
        for dep in feature.deps
    }
    required = [d.feature for d in feature.deps if not d.optional]
    if required:
        samples = set(values[required[0]])
        for parent in required[1:]:
            samples &= set(values[parent])
    else:
        samples = set().union(*(set(v) for v in values.values()))
    result = {}
    for sample in samples:
        provenance = {}
        for field in graph[feature.key].field_keys:
            parts = [field, graph[feature.key].field(field).code_version]
            for parent, parent_field in graph.parent_fields(feature.key, field):
                value = values[parent].get(sample)
                parts += [f"{parent}.{parent_field}", "" if value is None else value[parent_field]]
            provenance[field] = hash_parts(parts, algorithm, truncation)
        result[sample] = provenance
    return result


def row_provenance(per_field: Mapping[str, str], algorithm: str = "md5", t: int = 8) -> str:
    """``metaxy_provenance``: the per-field values in field key order, hashed."""
    return hash_parts([per_field[f] for f in sorted(per_field)], algorithm, t)
