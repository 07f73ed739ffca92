"""Per-feature SQL pieces: latest rows, the feature's current rows, its expected provenance.

For a downstream feature the expected per-field provenance is computed from the parents'
latest rows, joined on the id columns (``VERSIONING.md``)::

    provenance[f] = trunc(H("f|<code version>|P.g|<P.data_version[g]>|..."))

:mod:`metaxy_orm._sql.increment` compares it with the stored rows, and
:mod:`metaxy_orm._sql.data_ops` writes from it; both start from :class:`FeatureStatements`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal

from metaxy_orm._sql.lineage import lineage_sql
from metaxy_orm.columns import (
    FEATURE_VERSION,
    PROVENANCE,
    data_version_column,
    provenance_column,
)
from metaxy_orm.exceptions import FeatureSpecError, NotAFeatureError
from metaxy_orm.hashing import HashAlgorithm, sql_hash_parts
from metaxy_orm.lineage import expected_key
from metaxy_orm.versioning import DEFAULT_TRUNCATION, qualified_field_name

if TYPE_CHECKING:
    from sqlalchemy.sql.compiler import SQLCompiler

    from metaxy_orm._backends import Backend
    from metaxy_orm._sql.settings import HashSettings
    from metaxy_orm.feature import Feature
    from metaxy_orm.graph import FeatureGraph
    from metaxy_orm.spec import FeatureDep, FeatureSpec

__all__ = [
    "FeatureStatements",
    "TextFilter",
    "feature_table",
    "require_feature",
    "statements_for_dialect",
    "text_filter",
]


#: A string literal of SQL ('' inside is a quote).
_SQL_LITERAL = re.compile(r"'(?:[^']|'')*'")
#: What SQLAlchemy takes for a bind marker when it renders positional parameters ("?").
_BIND_MARKER = re.compile(r"%\([^)]+?\)s")


class TextFilter(sa.sql.expression.ColumnElement[bool]):
    """A filter given as SQL text, passed to the database as written.

    Not :func:`sqlalchemy.text`, which takes ``:name`` for a bind parameter even inside a
    string literal. The text is rendered in parentheses (an ``OR`` inside cannot escape), with
    only the escaping the driver undoes itself (``%`` doubled for pyformat drivers). On drivers
    with positional parameters SQLAlchemy would still take ``%(name)s`` for one of its own
    markers, so a string literal that contains one is sent as a bound parameter of the same value.
    """

    __visit_name__ = "metaxy_text_filter"
    inherit_cache = True
    _traverse_internals = [("text", InternalTraversal.dp_string)]

    def __init__(self, text: str) -> None:
        self.text = text
        self.type = sa.types.NullType()  # type: ignore[assignment]  # some engines refuse "= 1"


def _escape(compiler: SQLCompiler, text: str) -> str:
    return str(compiler.escape_literal_column(text))  # type: ignore[no-untyped-call]


@compiles(TextFilter)
def _compile_text_filter(element: TextFilter, compiler: SQLCompiler, **kw: Any) -> str:
    text = element.text
    if not compiler.positional or not _BIND_MARKER.search(text):
        return f"({_escape(compiler, text)})"
    out: list[str] = []
    position = 0
    for match in _SQL_LITERAL.finditer(text):
        out.append(_escape(compiler, text[position : match.start()]))
        literal = match.group(0)
        if _BIND_MARKER.search(literal):
            value = literal[1:-1].replace("''", "'")
            out.append(compiler.process(sa.literal(value, sa.String()), **kw))
        else:
            out.append(_escape(compiler, literal))
        position = match.end()
    out.append(_escape(compiler, text[position:]))
    return "(" + "".join(out) + ")"


def text_filter(condition: str) -> sa.ColumnElement[bool]:
    """The SQL condition of a text filter (see :class:`TextFilter`)."""
    return TextFilter(condition)


def require_feature(feature: object) -> None:
    """Refuse anything but a feature class, with an error that says what was given."""
    from metaxy_orm.feature import Feature

    if not (isinstance(feature, type) and issubclass(feature, Feature)):
        given = feature.__name__ if isinstance(feature, type) else repr(feature)
        raise NotAFeatureError(
            f"expected a feature class (a subclass of mx.Feature defined with spec=...), "
            f"got {given} ({type(feature).__name__}); pass the class itself, e.g. "
            "store.read(Video)"
        )
    feature.feature_spec()  # a Feature subclass without spec= is refused by its own check


def feature_table(feature: type[Feature]) -> sa.Table:
    """The table of a feature class, or a clear error for a feature without ``table=True``."""
    require_feature(feature)
    table = getattr(feature, "__table__", None)
    if not isinstance(table, sa.Table):
        raise FeatureSpecError(
            f"feature '{feature.feature_key()}' (class {feature.__qualname__}) has no table: "
            "define it with table=True to store its metadata"
        )
    return table


def _sorted_fields(spec: FeatureSpec) -> list[str]:
    return sorted(str(k) for k in spec.field_keys)


class FeatureStatements:
    """Builds the SQL pieces of one feature, for one backend and hash setting.

    Every statement about a feature (resolve, status, reconcile, backfill, cleanup) starts
    from these pieces, so they share one definition of latest rows and expected provenance.
    """

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
        #: What the expected rows are keyed on: the id columns, or for a feature fed by
        #: expansion its parents' id columns (see :mod:`metaxy_orm.lineage`).
        self.expected_ids: tuple[str, ...] = expected_key(self.spec)

    @property
    def expands(self) -> bool:
        """Whether the expected rows are per parent sample (expansion lineage)."""
        return self.expected_ids != self.spec.id_columns

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
        select = self.backend.latest_rows(table, spec.id_columns, [table.c[c] for c in wanted])
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
        strategy = lineage_sql(dep)
        if not dep.filters:
            rows = self.latest(parent, [*dv_columns, *dep.select]).alias(f"__mx_p{index}")
            return strategy.parent_rows(self, dep, parent_spec, rows, index)
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
            text_filter(f) if isinstance(f, str) else adapter.traverse(f) for f in dep.filters
        ]
        filtered = sa.select(latest).where(*conditions).subquery(f"__mx_p{index}")
        return strategy.parent_rows(self, dep, parent_spec, filtered, index)

    def expected(self) -> sa.Subquery:
        """Expected rows of a downstream feature: ids, per-field provenance, selected columns."""
        spec = self.spec
        if not spec.deps:
            raise FeatureSpecError(f"feature '{spec.key}' is a root feature: it has no upstream")
        parents = {dep.feature: self._parent(dep, i) for i, dep in enumerate(spec.deps)}
        optional = {dep.feature for dep in spec.deps if dep.optional}
        required = [k for k in parents if k not in optional]
        ids = list(self.expected_ids)

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
        expected = sa.select(*outputs).select_from(source)
        return self.backend.computed_once(expected).subquery("__mx_expected")

    def differs(self, expected: sa.FromClause, current: sa.FromClause) -> sa.ColumnElement[bool]:
        """A stored row is stale: a field's provenance or the feature version changed."""
        return sa.or_(
            *(expected.c[p].is_distinct_from(current.c[p]) for p in self.provenance_columns),
            current.c[FEATURE_VERSION] != self.feature_version,
        )


def statements_for_dialect(
    feature: type[Feature],
    dialect: sa.Dialect,
    *,
    hash_algorithm: str | HashAlgorithm = HashAlgorithm.MD5,
    hash_truncation_length: int = DEFAULT_TRUNCATION,
) -> FeatureStatements:
    """What the store builds for ``feature``, for a dialect alone (e.g. an offline migration).

    The statements need no connection; with these they can be compiled for a SQL script. The
    settings are checked as :class:`~metaxy_orm.MetadataStore` checks them.
    """
    from metaxy_orm._backends import backend_for
    from metaxy_orm._sql.settings import hash_settings

    backend = backend_for(dialect)
    settings = hash_settings(backend, hash_algorithm, hash_truncation_length)
    return FeatureStatements(feature, feature.feature_graph(), backend, settings)
