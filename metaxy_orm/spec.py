"""Feature and field specifications: what a user declares with ``spec=...``.

Specs are small immutable value objects. They check what can be checked locally (duplicate
fields, a field dependency on a feature that is not declared upstream, bad keys); the checks that
need the other features (unknown upstream fields, cycles, id columns) run when the class is
registered in its :class:`~metaxy_orm.graph.FeatureGraph`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from metaxy_orm.exceptions import FeatureSpecError
from metaxy_orm.keys import FeatureKey, FeatureKeyLike, FieldKey, FieldKeyLike
from metaxy_orm.lineage import LineageRelationship

if TYPE_CHECKING:
    from sqlalchemy.sql.elements import ColumnElement

__all__ = [
    "DEFAULT_CODE_VERSION",
    "DEFAULT_FIELD_KEY",
    "NO_DEPS",
    "FeatureDep",
    "FeatureRef",
    "FeatureSpec",
    "FieldDep",
    "FieldSpec",
    "NoDeps",
    "to_feature_key",
]

DEFAULT_CODE_VERSION = "__metaxy_initial__"
DEFAULT_FIELD_KEY = FieldKey("default")

#: A feature given by its class (anything carrying a spec) or by its key.
FeatureRef: TypeAlias = "FeatureKeyLike | type[Any]"
Filter: TypeAlias = "ColumnElement[bool] | str"


def to_feature_key(ref: object) -> FeatureKey:
    """Turn a feature class, a key object, a ``"a/b"`` string or a list of parts into a key."""
    if isinstance(ref, FeatureKey):
        return ref
    if isinstance(ref, str | list | tuple):
        return FeatureKey(ref)
    spec = getattr(ref, "__metaxy_spec__", None)
    if isinstance(spec, FeatureSpec):
        return spec.key
    raise FeatureSpecError(
        f"expected a feature class or a feature key, got {ref!r}. Pass the class itself "
        "(deps=[Video]) or its key (deps=['video'])."
    )


def _field_keys(fields: Sequence[FieldKeyLike] | None) -> tuple[FieldKey, ...] | None:
    if fields is None:
        return None
    if isinstance(fields, str | FieldKey):
        fields = [fields]
    return tuple(FieldKey(f) for f in fields)


class FieldDep:
    """A field's dependency on fields of one upstream feature (``fields=None``: all of them)."""

    __slots__ = ("feature", "fields")
    feature: FeatureKey
    fields: tuple[FieldKey, ...] | None

    def __init__(self, feature: FeatureRef, fields: Sequence[FieldKeyLike] | None = None) -> None:
        self.feature = to_feature_key(feature)
        self.fields = _field_keys(fields)

    def to_dict(self) -> dict[str, Any]:
        fields = None if self.fields is None else [str(f) for f in self.fields]
        return {"feature": str(self.feature), "fields": fields}

    def __repr__(self) -> str:
        return f"FieldDep(feature={str(self.feature)!r}, fields={self.to_dict()['fields']!r})"


class NoDeps:
    """The type of :data:`NO_DEPS` (one instance)."""

    __slots__ = ()
    _instance: NoDeps | None = None

    def __new__(cls) -> NoDeps:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_DEPS"


#: ``FieldSpec(key, deps=NO_DEPS)``: the field depends on no upstream field at all (its version
#: changes only with its own code version). Not the same as ``deps=[]``, which, as in Metaxy,
#: means "no explicit deps" and gets the default mapping.
NO_DEPS = NoDeps()


class FieldSpec:
    """A logical part of a feature's output, with its own code version and dependencies.

    ``deps=None`` (or ``deps=[]``, as in Metaxy) uses the default mapping: for each upstream
    feature, its field with the same key if it has one, otherwise all of its fields.
    ``deps=NO_DEPS`` makes a field that depends on no upstream field.
    """

    __slots__ = ("code_version", "deps", "independent", "key")
    key: FieldKey
    code_version: str
    deps: tuple[FieldDep, ...] | None
    #: True for ``deps=NO_DEPS``: no upstream field feeds this one.
    independent: bool

    def __init__(
        self,
        key: FieldKeyLike,
        code_version: str | int = DEFAULT_CODE_VERSION,
        deps: Sequence[FieldDep] | NoDeps | None = None,
    ) -> None:
        self.key = FieldKey(key)
        if not isinstance(code_version, str | int) or isinstance(code_version, bool):
            raise FeatureSpecError(
                f"field '{self.key}': code_version must be a string or an integer, "
                f"got {type(code_version).__name__}"
            )
        self.code_version = str(code_version)
        self.independent = isinstance(deps, NoDeps)
        if isinstance(deps, NoDeps):
            deps = None
        if deps is not None:
            if isinstance(deps, FieldDep | str) or not isinstance(deps, Sequence):
                raise FeatureSpecError(
                    f"field '{self.key}': deps must be a list of FieldDep objects, None, or "
                    f"NO_DEPS, got {deps!r}"
                )
            for dep in deps:
                if not isinstance(dep, FieldDep):
                    raise FeatureSpecError(
                        f"field '{self.key}': deps must hold FieldDep objects, got {dep!r}"
                    )
        # An empty list is "no explicit deps", as in the reference system (VERSIONING.md).
        self.deps = tuple(deps) if deps else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``deps`` is None for the default mapping, ``[]`` for ``NO_DEPS``."""
        deps: list[dict[str, Any]] | None = [] if self.independent else None
        if self.deps is not None:
            deps = [d.to_dict() for d in self.deps]
        return {"key": str(self.key), "code_version": self.code_version, "deps": deps}

    def __repr__(self) -> str:
        return f"FieldSpec(key={str(self.key)!r}, code_version={self.code_version!r})"


class FeatureDep:
    """A dependency on an upstream feature, joined on the id columns.

    - ``select``: upstream columns carried into the increment (none by default);
    - ``rename``: new names for selected columns, to avoid clashes between parents;
    - ``filters``: SQL conditions on the upstream's latest rows (SQLAlchemy expressions on the
      upstream class, or SQL text); rows that fail them are not expected downstream;
    - ``optional``: the upstream may be missing for a sample (left join); its fields then
      contribute an empty data version;
    - ``lineage``: how samples relate (:class:`~metaxy_orm.LineageRelationship`): identity
      (1:1, the default), expansion (1:N) or aggregation (N:1).
    """

    __slots__ = ("feature", "filters", "lineage", "optional", "rename", "select")
    feature: FeatureKey
    select: tuple[str, ...]
    rename: dict[str, str]
    filters: tuple[Filter, ...]
    optional: bool
    lineage: LineageRelationship

    def __init__(
        self,
        feature: FeatureRef,
        *,
        select: Sequence[str] | None = None,
        rename: Mapping[str, str] | None = None,
        filters: Sequence[Filter] | None = None,
        optional: bool = False,
        lineage: LineageRelationship | None = None,
    ) -> None:
        self.feature = to_feature_key(feature)
        if lineage is not None and not isinstance(lineage, LineageRelationship):
            raise FeatureSpecError(
                f"FeatureDep on '{self.feature}': lineage must be a LineageRelationship "
                f"(e.g. LineageRelationship.expansion(on=[...])), got {lineage!r}"
            )
        self.lineage = lineage or LineageRelationship.identity()
        if isinstance(select, str):
            select = [select]
        self.select = tuple(select or ())
        self.rename = dict(rename or {})
        unknown = sorted(set(self.rename) - set(self.select))
        if unknown:
            raise FeatureSpecError(
                f"FeatureDep on '{self.feature}': rename names {unknown} which are not "
                f"selected; add them to select= (selected: {list(self.select)})"
            )
        self.filters = tuple(filters or ())
        self.optional = bool(optional)

    def output_name(self, column: str) -> str:
        """The name a selected upstream column takes in the increment."""
        return self.rename.get(column, column)

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": str(self.feature),
            "select": list(self.select),
            "rename": dict(self.rename),
            "filters": [str(f) for f in self.filters],
            "optional": self.optional,
            # identity is left out, so that snapshots of 1:1 graphs stay as they were
            **({} if self.lineage.is_identity else {"lineage": self.lineage.to_dict()}),
        }

    def __repr__(self) -> str:
        return f"FeatureDep(feature={str(self.feature)!r})"


class FeatureSpec:
    """Everything metaxy-orm needs to know about a feature besides its columns."""

    __slots__ = ("deps", "fields", "id_columns", "key")
    key: FeatureKey
    id_columns: tuple[str, ...]
    deps: tuple[FeatureDep, ...]
    fields: tuple[FieldSpec, ...]

    def __init__(
        self,
        key: FeatureKeyLike,
        id_columns: Sequence[str],
        deps: Sequence[FeatureDep | FeatureRef] | None = None,
        fields: Sequence[FieldSpec | FieldKeyLike] | None = None,
    ) -> None:
        self.key = FeatureKey(key)
        if isinstance(id_columns, str):
            id_columns = [id_columns]
        self.id_columns = tuple(id_columns)
        if not self.id_columns:
            raise FeatureSpecError(
                f"feature '{self.key}': id_columns must name at least one column"
            )
        for col in self.id_columns:
            if not isinstance(col, str) or not col:
                raise FeatureSpecError(f"feature '{self.key}': id column {col!r} is not a name")
        repeated = sorted({c for c in self.id_columns if self.id_columns.count(c) > 1})
        if repeated:
            raise FeatureSpecError(f"feature '{self.key}': id column(s) {repeated} repeated")
        self.deps = tuple(d if isinstance(d, FeatureDep) else FeatureDep(d) for d in deps or ())
        self.fields = tuple(
            f if isinstance(f, FieldSpec) else FieldSpec(f) for f in fields or ()
        ) or (FieldSpec(DEFAULT_FIELD_KEY),)
        self._check_local()

    def _check_local(self) -> None:
        seen: set[FeatureKey] = set()
        for dep in self.deps:
            if dep.feature in seen:
                raise FeatureSpecError(
                    f"feature '{self.key}': upstream feature '{dep.feature}' "
                    "is listed twice in deps"
                )
            seen.add(dep.feature)
        field_keys = [f.key for f in self.fields]
        dupes = sorted({str(k) for k in field_keys if field_keys.count(k) > 1})
        if dupes:
            raise FeatureSpecError(
                f"feature '{self.key}': duplicate field key(s) {dupes}; "
                "each field needs its own key"
            )
        for field in self.fields:
            for fdep in field.deps or ():
                if fdep.feature not in seen:
                    declared = sorted(str(k) for k in seen) or "none"
                    raise FeatureSpecError(
                        f"feature '{self.key}', field '{field.key}': depends on '{fdep.feature}', "
                        f"which is not in the feature's deps (declared: {declared}). "
                        f"Add FeatureDep(feature=...) for it to deps."
                    )

    @property
    def field_keys(self) -> tuple[FieldKey, ...]:
        return tuple(f.key for f in self.fields)

    def field(self, key: FieldKeyLike) -> FieldSpec:
        """The spec of one field, by key."""
        wanted = FieldKey(key)
        for f in self.fields:
            if f.key == wanted:
                return f
        raise FeatureSpecError(
            f"feature '{self.key}' has no field '{wanted}' "
            f"(fields: {[str(k) for k in self.field_keys]})"
        )

    def dep(self, feature: FeatureRef) -> FeatureDep:
        """The dependency on one upstream feature."""
        wanted = to_feature_key(feature)
        for d in self.deps:
            if d.feature == wanted:
                return d
        raise FeatureSpecError(f"feature '{self.key}' does not depend on '{wanted}'")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description, recorded in graph snapshots."""
        return {
            "key": str(self.key),
            "id_columns": list(self.id_columns),
            "deps": [d.to_dict() for d in self.deps],
            "fields": [f.to_dict() for f in self.fields],
        }

    def __repr__(self) -> str:
        return f"FeatureSpec(key={str(self.key)!r})"
