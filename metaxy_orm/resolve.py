"""The SQL behind ``resolve_update``: expected provenance, current rows, and their comparison.

For a downstream feature the expected per-field provenance is computed from the parents'
latest rows, joined on the id columns (``VERSIONING.md``)::

    provenance[f] = trunc(H("f|<code version>|P.g|<P.data_version[g]>|..."))

and compared with the feature's own latest rows in a single FULL OUTER JOIN, which classifies
every sample at once as ``new``, ``stale`` or ``orphaned``. Only that answer leaves the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from metaxy_orm.columns import (
    CREATED_AT,
    FEATURE_VERSION,
    PROVENANCE,
    data_version_column,
    provenance_column,
)
from metaxy_orm.exceptions import FeatureSpecError, UnsupportedHashAlgorithmError
from metaxy_orm.hashing import HashAlgorithm, parse_algorithm, sql_hash_parts
from metaxy_orm.versioning import check_truncation, qualified_field_name

if TYPE_CHECKING:
    from metaxy_orm._backends import Backend
    from metaxy_orm.feature import Feature
    from metaxy_orm.graph import FeatureGraph
    from metaxy_orm.spec import FeatureDep, FeatureSpec

__all__ = ["STATUS", "HashSettings", "ResolvePlan", "feature_table", "hash_settings"]

STATUS = "__mx_status"


@dataclass(frozen=True)
class HashSettings:
    algorithm: HashAlgorithm
    truncation: int


def hash_settings(
    backend: Backend, hash_algorithm: str | HashAlgorithm, hash_truncation_length: int
) -> HashSettings:
    """Validated hash settings; an algorithm the backend cannot compute in SQL is refused."""
    algorithm = parse_algorithm(hash_algorithm)
    if algorithm not in backend.hash_algorithms:
        available = ", ".join(sorted(a.value for a in backend.hash_algorithms))
        raise UnsupportedHashAlgorithmError(
            f"the {backend.name} backend cannot compute '{algorithm.value}' in the "
            f"database; choose one of: {available}"
        )
    return HashSettings(algorithm, check_truncation(hash_truncation_length))


def feature_table(feature: type[Feature]) -> sa.Table:
    """The table of a feature class, or a clear error for a feature without ``table=True``."""
    table = getattr(feature, "__table__", None)
    if not isinstance(table, sa.Table):
        raise FeatureSpecError(
            f"feature '{feature.feature_key()}' (class {feature.__qualname__}) has no table: "
            "define it with table=True to store its metadata"
        )
    return table


def _sorted_fields(spec: FeatureSpec) -> list[str]:
    return sorted(str(k) for k in spec.field_keys)


class ResolvePlan:
    """Builds the selects that resolve one feature, for one backend and hash setting."""

    def __init__(
        self,
        feature: type[Feature],
        graph: FeatureGraph,
        backend: Backend,
        settings: HashSettings,
    ) -> None:
        self.feature = feature
        self.graph = graph
        self.backend = backend
        self.settings = settings
        self.spec = feature.feature_spec()
        self.table = feature_table(feature)
        self.feature_version = graph.feature_version(
            self.spec.key, hash_truncation_length=settings.truncation
        )

    @property
    def snapshot_version(self) -> str:
        """The snapshot version that rows written now are stamped with."""
        return self.graph.versions(self.settings.truncation).snapshot_version()

    # -- pieces ----------------------------------------------------------------------------

    @property
    def provenance_columns(self) -> list[str]:
        """Per-field provenance column names, in field key order."""
        return [provenance_column(self.spec.field(f).key) for f in _sorted_fields(self.spec)]

    def selected_columns(self) -> list[str]:
        """Names of upstream columns carried into the increment (``FeatureDep.select``)."""
        return [dep.output_name(c) for dep in self.spec.deps for c in dep.select]

    def hash(self, parts: Sequence[sa.ColumnElement[Any] | str]) -> sa.ColumnElement[str]:
        return sql_hash_parts(parts, self.settings.algorithm, self.settings.truncation)

    def latest(self, feature: type[Feature], columns: Sequence[str]) -> sa.Subquery:
        """Latest row per sample of a feature, projected on ``columns``."""
        table = feature_table(feature)
        spec = feature.feature_spec()
        wanted = list(dict.fromkeys([*spec.id_columns, *columns]))
        select = self.backend.latest_rows(
            table, spec.id_columns, [table.c[c] for c in wanted], CREATED_AT
        )
        return select.subquery(f"__mx_latest_{table.name}")

    def current(self) -> sa.Subquery:
        """The feature's own latest rows: ids, provenance columns and feature version."""
        return self.latest(self.feature, [*self.provenance_columns, PROVENANCE, FEATURE_VERSION])

    def _parent(self, dep: FeatureDep, index: int) -> sa.FromClause:
        parent = self.graph.get_feature(dep.feature)
        parent_spec = parent.feature_spec()
        table = feature_table(parent)
        missing = [c for c in dep.select if c not in table.c]
        if missing:
            raise FeatureSpecError(
                f"feature '{self.spec.key}': FeatureDep on '{dep.feature}' selects column(s) "
                f"{missing} which '{dep.feature}' does not have"
            )
        dv_columns = [data_version_column(k) for k in parent_spec.field_keys]
        if not dep.filters:
            return self.latest(parent, [*dv_columns, *dep.select]).alias(f"__mx_p{index}")
        # Filters may name any upstream column (SQL text cannot even be inspected), so the
        # filtered rows carry them all; the planners prune the ones the outer query ignores.
        latest = self.latest(parent, [c.name for c in table.c])
        foreign = {
            c.table.name
            for f in dep.filters
            if not isinstance(f, str)
            for c in sa.sql.visitors.iterate(f)
            if isinstance(c, sa.Column) and c.table is not table
        }
        if foreign:
            raise FeatureSpecError(
                f"feature '{self.spec.key}': a filter of FeatureDep on '{dep.feature}' uses "
                f"columns of other tables ({sorted(foreign)}); filters may only use the "
                f"columns of '{dep.feature}'"
            )
        adapter = sa.sql.util.ClauseAdapter(latest)
        conditions = [
            sa.text(f) if isinstance(f, str) else adapter.traverse(f) for f in dep.filters
        ]
        return sa.select(latest).where(*conditions).subquery(f"__mx_p{index}")

    def expected(self) -> sa.Subquery:
        """Expected rows of a downstream feature: ids, per-field provenance, selected columns."""
        spec = self.spec
        if not spec.deps:
            raise FeatureSpecError(f"feature '{spec.key}' is a root feature: it has no upstream")
        parents = {dep.feature: self._parent(dep, i) for i, dep in enumerate(spec.deps)}
        optional = {dep.feature for dep in spec.deps if dep.optional}
        required = [k for k in parents if k not in optional]
        ids = list(spec.id_columns)

        if required:
            base = parents[required[0]]
            key_cols = [base.c[c] for c in ids]
            source: sa.FromClause = base
            joined = [required[0]]
        else:  # every parent is optional: a sample is expected if any parent has it
            union = sa.union(*(sa.select(*(p.c[c] for c in ids)) for p in parents.values()))
            keys = union.subquery("__mx_keys")
            key_cols = [keys.c[c] for c in ids]
            source = keys
            joined = []
        for key, sub in parents.items():
            if key in joined:
                continue
            on = sa.and_(*(sub.c[c] == k for c, k in zip(ids, key_cols, strict=True)))
            source = source.join(sub, on, isouter=key in optional)

        def data_version(parent: Any, field: Any) -> sa.ColumnElement[str]:
            column = parents[parent].c[data_version_column(field)]
            return sa.func.coalesce(column, "") if parent in optional else column

        outputs: list[sa.ColumnElement[Any]] = [
            k.label(c) for k, c in zip(key_cols, ids, strict=True)
        ]
        for name in _sorted_fields(spec):
            field = spec.field(name)
            parts: list[sa.ColumnElement[str] | str] = [str(field.key), field.code_version]
            for parent, parent_field in self.graph.parent_fields(spec.key, field.key):
                parts += [
                    qualified_field_name(parent, parent_field),
                    data_version(parent, parent_field),
                ]
            outputs.append(self.hash(parts).label(provenance_column(field.key)))
        for dep in spec.deps:
            outputs += [parents[dep.feature].c[c].label(dep.output_name(c)) for c in dep.select]
        return sa.select(*outputs).select_from(source).subquery("__mx_expected")

    # -- the comparison --------------------------------------------------------------------

    def differs(self, expected: sa.FromClause, current: sa.FromClause) -> sa.ColumnElement[bool]:
        """A stored row is stale: a field's provenance or the feature version changed."""
        return sa.or_(
            *(expected.c[p].is_distinct_from(current.c[p]) for p in self.provenance_columns),
            current.c[FEATURE_VERSION] != self.feature_version,
        )

    def increment(self, expected: sa.FromClause) -> sa.Select[Any]:
        """Every sample that is new, stale or orphaned, with a status column.

        ``expected`` must have the id columns and the per-field provenance columns (and may have
        the selected upstream columns).
        """
        ids = list(self.spec.id_columns)
        current = self.current()
        if not self.backend.efficient_full_join:
            return self._increment_without_full_join(expected, current)
        e, c = expected, current
        join = sa.and_(*(e.c[i] == c.c[i] for i in ids))
        prov = self.provenance_columns
        is_new = c.c[ids[0]].is_(None)
        is_orphaned = e.c[ids[0]].is_(None)
        differs = self.differs(e, c)
        status = sa.case((is_new, "new"), (is_orphaned, "orphaned"), else_="stale")
        row_provenance = sa.case(
            (is_orphaned, c.c[PROVENANCE]),
            else_=self.hash([e.c[p] for p in prov]),
        )
        outputs: list[sa.ColumnElement[Any]] = [
            sa.func.coalesce(e.c[i], c.c[i]).label(i) for i in ids
        ]
        outputs += [sa.case((is_orphaned, c.c[p]), else_=e.c[p]).label(p) for p in prov]
        outputs.append(row_provenance.label(PROVENANCE))
        outputs += [e.c[name].label(name) for name in self.selected_columns() if name in e.c]
        outputs.append(status.label(STATUS))
        return (
            sa.select(*outputs)
            .select_from(e.join(c, join, full=True))
            .where(sa.or_(is_new, is_orphaned, differs))
        )

    def _increment_without_full_join(
        self, expected: sa.FromClause, current: sa.FromClause
    ) -> sa.Select[Any]:
        """The same answer as two LEFT JOINs, for engines that cannot index a FULL JOIN.

        SQLite runs a FULL JOIN of two subqueries as a nested loop without an index (quadratic:
        7 s at 10k samples), while it builds an automatic index for each LEFT JOIN here. The
        orphan half reads only the id columns of ``expected``, so no hash is computed twice.
        """
        ids = list(self.spec.id_columns)
        prov = self.provenance_columns
        e, c = expected, current
        is_new = c.c[ids[0]].is_(None)
        selected = [e.c[name].label(name) for name in self.selected_columns() if name in e.c]
        expected_side = (
            sa.select(
                *(e.c[i].label(i) for i in ids),
                *(e.c[p].label(p) for p in prov),
                self.hash([e.c[p] for p in prov]).label(PROVENANCE),
                *selected,
                sa.case((is_new, "new"), else_="stale").label(STATUS),
            )
            .select_from(e.outerjoin(c, sa.and_(*(e.c[i] == c.c[i] for i in ids))))
            .where(sa.or_(is_new, self.differs(e, c)))
        )
        keys = sa.select(*(e.c[i] for i in ids)).subquery("__mx_expected_keys")
        orphan_side = (
            sa.select(
                *(c.c[i].label(i) for i in ids),
                *(c.c[p].label(p) for p in prov),
                c.c[PROVENANCE].label(PROVENANCE),
                *(sa.null().label(str(s.key)) for s in selected),
                sa.literal("orphaned").label(STATUS),
            )
            .select_from(c.outerjoin(keys, sa.and_(*(c.c[i] == keys.c[i] for i in ids))))
            .where(keys.c[ids[0]].is_(None))
        )
        union = sa.union_all(expected_side, orphan_side).subquery("__mx_increment_parts")
        return sa.select(*union.c)
