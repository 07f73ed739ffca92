"""The feature graph: which features exist, how they depend on each other, and their versions.

Defining a feature class registers it in the *active* graph: the global default one, or the one
entered with ``with FeatureGraph(): ...``. A graph isolates features, versions and tables: the
default graph's tables live in ``SQLModel.metadata``, any other graph's in a ``MetaData`` of its
own (kept by the SQL side, :mod:`metaxy_orm.graph_tables`; this module imports no SQL), so the
same features can be defined once per graph in one process (two versions of a pipeline, one per
test) and ``mx.metadata_of(graph)`` holds exactly the graph's tables.

The active graph is a ``ContextVar``: ``with`` blocks nest, asyncio tasks inherit the graph active
where they were created, and a new thread starts on the default graph.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextvars import ContextVar, Token
from types import TracebackType
from typing import TYPE_CHECKING, Any

from metaxy_orm.exceptions import (
    CycleError,
    DuplicateFeatureError,
    FeatureNotFoundError,
    FeatureSpecError,
    known_features_hint,
)
from metaxy_orm.keys import FeatureKey, FieldKey, FieldKeyLike
from metaxy_orm.lineage import check_lineage, expected_key
from metaxy_orm.spec import FeatureRef, FeatureSpec, to_feature_key
from metaxy_orm.versioning import (
    DEFAULT_TRUNCATION,
    VersionCalculator,
    check_truncation,
    parent_fields,
)

if TYPE_CHECKING:
    from metaxy_orm.feature import Feature
    from metaxy_orm.snapshots.model import GraphSnapshot

__all__ = ["FeatureGraph"]


class FeatureGraph:
    """A registry of features with their dependencies and versions."""

    def __init__(self, *, hash_truncation_length: int = DEFAULT_TRUNCATION) -> None:
        self.hash_truncation_length = check_truncation(hash_truncation_length)
        self._classes: dict[FeatureKey, type[Feature]] = {}
        self._specs: dict[FeatureKey, FeatureSpec] = {}
        self._versions: dict[int, VersionCalculator] = {}
        self._tokens: list[Token[FeatureGraph | None]] = []
        #: What the SQL side keeps for this graph (its ``MetaData`` and ORM registry, see
        #: :mod:`metaxy_orm.graph_tables`); opaque here. Kept on the graph so that the tables
        #: live exactly as long as the graph and its feature classes.
        self.sql_state: object | None = None

    # -- the active graph ------------------------------------------------------------------

    @classmethod
    def get_active(cls) -> FeatureGraph:
        """The graph that newly defined features register in."""
        graph = _active_graph.get()
        return _DEFAULT_GRAPH if graph is None else graph

    @classmethod
    def get_default(cls) -> FeatureGraph:
        """The process-wide graph that features register in when no other graph is active."""
        return _DEFAULT_GRAPH

    def __enter__(self) -> FeatureGraph:
        self._tokens.append(_active_graph.set(self))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _active_graph.reset(self._tokens.pop())

    # -- registration ----------------------------------------------------------------------

    def check_feature(self, spec: FeatureSpec) -> None:
        """Check a spec against this graph, before its class is built (nothing is changed)."""
        if spec.key in self._specs:
            previous = self._classes[spec.key]
            raise DuplicateFeatureError(
                f"feature '{spec.key}' is already defined in this graph by "
                f"{previous.__module__}.{previous.__qualname__}. Give the new class another "
                "key, or define it inside its own `with FeatureGraph(): ...` block."
            )
        self._check_upstream(spec)
        self._check_acyclic(spec)

    def add_feature(self, feature: type[Feature]) -> None:
        """Register a feature class, checking it first."""
        spec = feature.__metaxy_spec__
        self.check_feature(spec)
        self._classes[spec.key] = feature
        self._specs[spec.key] = spec
        self._versions.clear()

    def remove_feature(self, feature: FeatureRef) -> None:
        """Forget a feature (and nothing else); used by tests and interactive sessions.

        Its table leaves the graph's ``MetaData`` too, so that the feature can be defined
        again (a notebook cell run twice) and ``create_all`` no longer creates it.
        """
        key = to_feature_key(feature)
        self._lookup(key)
        table: Any = getattr(self._classes[key], "__table__", None)
        if table is not None and table.metadata.tables.get(table.key) is table:
            table.metadata.remove(table)
        del self._classes[key]
        del self._specs[key]
        self._versions.clear()

    def _check_upstream(self, spec: FeatureSpec) -> None:
        for dep in spec.deps:
            if dep.feature == spec.key:
                raise CycleError(f"feature '{spec.key}' depends on itself")
            parent = self._specs.get(dep.feature)
            if parent is None:
                hint = known_features_hint(str(dep.feature), (str(k) for k in self._specs))
                raise FeatureSpecError(
                    f"feature '{spec.key}': upstream feature '{dep.feature}' is not defined in "
                    f"this graph; define the upstream feature first.{hint}"
                )
            parent_table = getattr(self._classes[dep.feature], "__table__", None)
            columns = set(parent_table.c.keys()) if parent_table is not None else None
            missing = [c for c in dep.select if columns is not None and c not in columns]
            if missing:
                raise FeatureSpecError(
                    f"feature '{spec.key}': FeatureDep on '{dep.feature}' selects column(s) "
                    f"{missing}, which '{dep.feature}' does not have "
                    f"(its columns: {sorted(columns or ())})"
                )
            check_lineage(spec, dep, parent)
        expected_key(spec)  # every dependency keys the expected rows on the same columns
        for field in spec.fields:
            for fdep in field.deps or ():
                parent = self._specs[fdep.feature]
                for wanted in fdep.fields or ():
                    if wanted not in parent.field_keys:
                        raise FeatureSpecError(
                            f"feature '{spec.key}', field '{field.key}': upstream feature "
                            f"'{parent.key}' has no field '{wanted}' "
                            f"(its fields: {[str(k) for k in parent.field_keys]})"
                        )

    def _check_acyclic(self, spec: FeatureSpec) -> None:
        specs = {**self._specs, spec.key: spec}
        state: dict[FeatureKey, int] = {}  # 1: on the current path, 2: done

        def visit(key: FeatureKey, path: list[FeatureKey]) -> None:
            if state.get(key) == 2:
                return
            if state.get(key) == 1:
                cycle = [*path[path.index(key) :], key]
                raise CycleError(
                    f"feature '{spec.key}' closes a dependency cycle: "
                    + " -> ".join(str(k) for k in cycle)
                )
            state[key] = 1
            node = specs.get(key)
            for dep in node.deps if node is not None else ():
                visit(dep.feature, [*path, key])
            state[key] = 2

        visit(spec.key, [])

    # -- lookups ---------------------------------------------------------------------------

    def _lookup(self, key: FeatureKey) -> FeatureSpec:
        spec = self._specs.get(key)
        if spec is None:
            raise FeatureNotFoundError(str(key), (str(k) for k in self._specs))
        return spec

    def get_feature(self, feature: FeatureRef) -> type[Feature]:
        """The class of a feature, by key or class."""
        key = to_feature_key(feature)
        self._lookup(key)
        return self._classes[key]

    def get_spec(self, feature: FeatureRef) -> FeatureSpec:
        return self._lookup(to_feature_key(feature))

    def __contains__(self, feature: object) -> bool:
        try:
            return to_feature_key(feature) in self._specs
        except (FeatureSpecError, ValueError):
            return False

    def __iter__(self) -> Iterator[type[Feature]]:
        """Feature classes in topological order."""
        return iter([self._classes[k] for k in self.topological_order()])

    def __len__(self) -> int:
        return len(self._specs)

    @property
    def specs(self) -> dict[FeatureKey, FeatureSpec]:
        return dict(self._specs)

    def topological_order(self) -> list[FeatureKey]:
        """Keys with every upstream before its downstreams; ties broken by key text."""
        indegree = {k: len(s.deps) for k, s in self._specs.items()}
        children: dict[FeatureKey, list[FeatureKey]] = {k: [] for k in self._specs}
        for key, spec in self._specs.items():
            for dep in spec.deps:
                children[dep.feature].append(key)
        ready = sorted((k for k, d in indegree.items() if d == 0), key=str)
        order: list[FeatureKey] = []
        while ready:
            key = ready.pop(0)
            order.append(key)
            for child in children[key]:
                indegree[child] -= 1
                if indegree[child] == 0:
                    ready.append(child)
            ready.sort(key=str)
        return order

    def upstream(self, feature: FeatureRef) -> list[FeatureKey]:
        """Direct upstream features, in declaration order."""
        return [d.feature for d in self.get_spec(feature).deps]

    def downstream(self, feature: FeatureRef) -> list[FeatureKey]:
        """Every feature that depends on this one, directly or not, in topological order."""
        root = to_feature_key(feature)
        self._lookup(root)
        reached = {root}
        result = []
        for key in self.topological_order():
            if any(d.feature in reached for d in self._specs[key].deps):
                reached.add(key)
                result.append(key)
        return result

    def parent_fields(
        self, feature: FeatureRef, field: FieldKeyLike
    ) -> list[tuple[FeatureKey, FieldKey]]:
        """The upstream fields that one field depends on, sorted by ``<feature>.<field>``."""
        spec = self.get_spec(feature)
        return parent_fields(self._specs, spec, spec.field(field))

    # -- versions --------------------------------------------------------------------------

    def versions(self, hash_truncation_length: int | None = None) -> VersionCalculator:
        """The (memoized) version calculator at a truncation length (default: the graph's)."""
        length = check_truncation(
            self.hash_truncation_length
            if hash_truncation_length is None
            else hash_truncation_length
        )
        calc = self._versions.get(length)
        if calc is None:
            calc = self._versions[length] = VersionCalculator(self._specs, length)
        return calc

    def field_version(
        self, feature: FeatureRef, field: FieldKeyLike, *, hash_truncation_length: int | None = None
    ) -> str:
        key = to_feature_key(feature)
        self._lookup(key)
        return self.versions(hash_truncation_length).field_version(key, FieldKey(field))

    def field_versions(
        self, feature: FeatureRef, *, hash_truncation_length: int | None = None
    ) -> dict[str, str]:
        key = to_feature_key(feature)
        self._lookup(key)
        return self.versions(hash_truncation_length).field_versions(key)

    def feature_version(
        self, feature: FeatureRef, *, hash_truncation_length: int | None = None
    ) -> str:
        key = to_feature_key(feature)
        self._lookup(key)
        return self.versions(hash_truncation_length).feature_version(key)

    @property
    def snapshot_version(self) -> str:
        """The version of the whole graph at the graph's truncation length."""
        return self.versions().snapshot_version()

    def snapshot(self, *, hash_truncation_length: int | None = None) -> GraphSnapshot:
        """Every feature's key, versions and spec: what a graph snapshot records.

        The model of :mod:`metaxy_orm.snapshots` (a JSON-ready ``GraphSnapshot``), so that it
        can be recorded (``record_snapshot(conn, graph.snapshot())``), compared and diffed as
        it is. Versions are computed at ``hash_truncation_length`` (default: the graph's).
        """
        calc = self.versions(hash_truncation_length)
        snapshot: GraphSnapshot = {
            "snapshot_version": calc.snapshot_version(),
            "hash_truncation_length": calc.truncation,
            "features": {
                str(key): {
                    "feature_version": calc.feature_version(key),
                    "field_versions": calc.field_versions(key),
                    "spec": self._specs[key].to_dict(),
                }
                for key in self.topological_order()
            },
        }
        return snapshot

    def __repr__(self) -> str:
        return f"FeatureGraph({len(self)} features)"


#: The process-wide default graph; a ContextVar default so that new threads see it too.
_DEFAULT_GRAPH = FeatureGraph()
_active_graph: ContextVar[FeatureGraph | None] = ContextVar("metaxy_orm_active_graph", default=None)
