"""What every web backend over a metaxy-orm store needs, without depending on a web framework.

- :func:`open_engine`: an engine checked once, with a clear error when an embedded database
  file is held by another process;
- :func:`update_root_samples`: add or update a few root samples without declaring every other
  stored sample orphaned;
- :func:`pending_page`: one page of a feature's pending work (new + stale), with the fields
  each sample must recompute, and the total;
- :func:`latest_page`: one page of a feature's latest rows (``mx.latest``);
- :func:`lookup`: one sample across every feature that has its id columns;
- :func:`field_edges`: the field-level edges of a graph, for drawing it.

Everything runs in the database; only the requested page travels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl
import sqlalchemy as sa

from metaxy_orm._backends import backend_for
from metaxy_orm.columns import CHANGED_PREFIX, CREATED_AT, changed_column
from metaxy_orm.exceptions import InvalidRowsError
from metaxy_orm.latest import latest

if TYPE_CHECKING:
    from metaxy_orm.feature import Feature
    from metaxy_orm.frames import Rows
    from metaxy_orm.graph import FeatureGraph
    from metaxy_orm.increment import Increment
    from metaxy_orm.store.metadata_store import MetadataStore

__all__ = [
    "FieldEdge",
    "Page",
    "changed_fields",
    "field_edges",
    "latest_page",
    "lookup",
    "open_engine",
    "pending_page",
    "update_root_samples",
]


def open_engine(url: str | sa.URL, **engine_options: Any) -> sa.Engine:
    """``create_engine`` plus one connection, so that a locked database fails at startup.

    DuckDB lets one process open a database file: a second process gets a
    :class:`~metaxy_orm.DatabaseLockedError` saying so (not the driver's raw message).
    """
    engine = sa.create_engine(url, **engine_options)
    backend = backend_for(engine.dialect)
    backend.attach(engine)
    try:
        with engine.connect():
            pass
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        translated = backend.translate_error(exc)
        if translated is None:
            raise
        raise translated from exc
    return engine


def update_root_samples(store: MetadataStore, feature: type[Feature], samples: Rows) -> Increment:
    """``resolve_update`` for a few root samples: new and stale among them, nothing orphaned.

    ``resolve_update(root, samples=...)`` takes ``samples`` as the complete list of samples, so
    every stored sample missing from it is reported orphaned. An ingestion endpoint that
    receives a handful of samples wants the opposite: the others are left as they are. The
    answer for the given samples is the same in both cases (each is compared with its own
    stored row); ``orphaned`` is empty, and the stored samples that are not given are not even
    read (a LEFT JOIN from the given samples). Nothing is written.
    """
    stmts = store._statements(feature)
    spec = stmts.spec
    if spec.deps:
        raise InvalidRowsError(
            f"update_root_samples('{spec.key}'): '{spec.key}' is not a root feature; its "
            "samples are computed from its upstream features"
        )
    return store._resolve_root_samples(stmts, samples, orphans=False)


@dataclass(frozen=True)
class Page:
    """One page of rows, and how many rows there are in all."""

    rows: pl.DataFrame
    total: int
    limit: int
    offset: int


def _page(
    store: MetadataStore,
    select: sa.Select[Any],
    order: Sequence[str],
    limit: int,
    offset: int,
    *,
    descending: bool = False,
) -> Page:
    rows = select.subquery("__mx_page")
    keys = [rows.c[c].desc() if descending else rows.c[c] for c in order]
    # the total rides along with the page (one pass over the rows); a count only past the end
    total = sa.func.count().over().label("__mx_total")
    page = sa.select(*rows.c, total).order_by(*keys).limit(limit).offset(offset)
    with store._db.begin() as conn:
        frame = store.backend.fetch_frame(conn, page)
        if frame.height:
            count = int(frame["__mx_total"][0])
        else:
            count = int(conn.execute(sa.select(sa.func.count()).select_from(rows)).scalar_one())
    frame = frame.drop("__mx_total")
    return Page(frame, count, limit, offset)


def pending_page(
    store: MetadataStore,
    feature: type[Feature],
    *,
    limit: int = 100,
    offset: int = 0,
) -> Page:
    """New and stale samples of a downstream feature, ordered by id, one page at a time.

    Each row has the id columns, the ``metaxy_provenance__<field>`` columns to write back, a
    ``status`` (``new`` or ``stale``) and one ``metaxy_changed__<field>`` flag per field: true
    for every field of a new sample, and for the fields of a stale sample whose inputs changed.
    """
    spec = feature.feature_spec()
    if not spec.deps:
        raise InvalidRowsError(
            f"pending work of '{spec.key}': '{spec.key}' is a root feature; its samples come "
            "from ingestion (resolve_update with samples=), not from upstream features"
        )
    lazy = store.resolve_update(feature, lazy=True)
    stale = lazy.stale.subquery("__mx_stale")
    flags = [changed_column(spec.field(f).key) for f in sorted(map(str, spec.field_keys))]
    columns = [c.key for c in stale.c if c.key not in flags]
    new = lazy.new.subquery("__mx_new")
    both = sa.union_all(
        sa.select(
            *(new.c[c] for c in columns),
            sa.literal("new").label("status"),
            *(sa.true().label(f) for f in flags),
        ),
        sa.select(
            *(stale.c[c] for c in columns),
            sa.literal("stale").label("status"),
            *(stale.c[f] for f in flags),
        ),
    )
    return _page(store, sa.select(both.subquery("__mx_pending")), spec.id_columns, limit, offset)


def changed_fields(frame: pl.DataFrame) -> pl.Series:
    """Per row of a pending page: the list of field names whose flag is set."""
    flags = [c for c in frame.columns if c.startswith(CHANGED_PREFIX)]
    if not flags:
        return pl.Series("fields", [[] for _ in range(frame.height)], dtype=pl.List(pl.String))
    names = [c.removeprefix(CHANGED_PREFIX) for c in flags]
    return frame.select(
        pl.concat_list(
            pl.when(pl.col(c)).then(pl.lit(n)).otherwise(pl.lit(None, pl.String))
            for c, n in zip(flags, names, strict=True)
        )
        .list.drop_nulls()
        .alias("fields")
    ).to_series()


def latest_page(
    store: MetadataStore,
    feature: type[Feature],
    *,
    limit: int = 100,
    offset: int = 0,
    newest_first: bool = False,
) -> Page:
    """The latest row per sample (:func:`~metaxy_orm.latest`), one page.

    Ordered by id, or with ``newest_first`` by write time, newest first (then by id, newest
    first), e.g. for "recently computed".
    """
    table = feature.__table__  # type: ignore[attr-defined]
    select = latest(feature).with_only_columns(*table.c)
    ids = list(feature.feature_spec().id_columns)
    if newest_first:
        return _page(store, select, [CREATED_AT, *ids], limit, offset, descending=True)
    return _page(store, select, ids, limit, offset)


def lookup(
    store: MetadataStore, graph: FeatureGraph, ids: Mapping[str, Any]
) -> dict[str, dict[str, Any] | None]:
    """The latest row of one sample in every feature whose id columns are exactly ``ids``.

    Features with other id columns are left out; ``None`` for a feature without the sample.
    """
    found: dict[str, dict[str, Any] | None] = {}
    for key in graph.topological_order():
        feature = graph.get_feature(key)
        spec = feature.feature_spec()
        if set(spec.id_columns) != set(ids):
            continue
        table = feature.__table__  # type: ignore[attr-defined]
        select = latest(feature).with_only_columns(*table.c)
        select = select.where(*(table.c[c] == v for c, v in ids.items()))
        page = _page(store, select, spec.id_columns, 1, 0)
        found[str(key)] = page.rows.row(0, named=True) if page.rows.height else None
    return found


@dataclass(frozen=True)
class FieldEdge:
    """Field ``child_field`` of ``child`` reads field ``parent_field`` of ``parent``."""

    parent: str
    parent_field: str
    child: str
    child_field: str


def field_edges(graph: FeatureGraph) -> list[FieldEdge]:
    """Every field-to-field dependency of the graph, in topological order of the children."""
    edges = []
    for key in graph.topological_order():
        spec = graph.get_spec(key)
        for name in sorted(map(str, spec.field_keys)):
            for parent, parent_field in graph.parent_fields(key, name):
                edges.append(FieldEdge(str(parent), str(parent_field), str(key), name))
    return edges
