"""What the data operations share, and the operation that undoes them (delete_materialization).

The data operations (:mod:`~alembic_ext.reconcile_ops`, :mod:`~alembic_ext.backfill_ops`,
:mod:`~alembic_ext.cleanup_ops`) run the store's own data operations
(:meth:`MetadataStore.reconcile <metaxy_orm.store.MetadataStore.reconcile>` and the others) on
the migration's connection, inside its transaction: one ``INSERT ... SELECT`` or ``DELETE`` per
feature, no row travelling through Python. What they share lives here:

- features are looked up by key in the code's feature graph (the one ``env.py`` imported, or the
  ``graph=`` given to :func:`alembic_ext.configure`), so a revision always runs against the
  feature classes of the code that runs it; an unknown key is an error that lists the known ones;
- the store is ``MetadataStore(op.get_bind(), **store_options)`` (``store_options=`` of
  :func:`alembic_ext.configure`: the hash algorithm and truncation of your project);
- progress: each feature is logged before and after (rows written or deleted, seconds) on the
  ``alembic.metaxy_orm`` logger, which a usual ``alembic.ini`` shows;
- offline (``alembic upgrade --sql``): the same statements are written into the script with their
  values inline. ``metaxy_created_at`` is computed in SQL when the script runs (the database's
  ``CURRENT_TIMESTAMP``, or just after the table's newest row): a time taken when the script
  was written would be older than the rows written before the script runs, and the rows it
  inserts would not be the latest. SQLite computes hashes with a Python
  function that metaxy-orm registers on each connection; a script run by ``sqlite3`` has no
  such function, so the operations that hash (reconcile, backfill) refuse to write one there;
- ``materialization_id``: reconcile and backfill tag the rows they write with it, and their
  downgrade, :class:`DeleteMaterializationOp`, deletes the rows carrying it. Metadata is
  append-only, so the rows that were latest before the upgrade are latest again. Autogenerate
  writes ``materialization_id=revision``: the revision file's own id, a name every Alembic
  revision module defines.

Like the rest of the extension, this module is imported while Alembic itself is being imported
(through the plugin entry point): it imports metaxy-orm only when an operation runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from alembic.operations import MigrateOperation, Operations
from alembic.util import CommandError

from alembic_ext.plugin import GRAPH_OPTION, PROGRESS_LOGGER, STORE_OPTION

if TYPE_CHECKING:
    import sqlalchemy as sa

    from metaxy_orm._sql.statements import FeatureStatements as ResolvePlan
    from metaxy_orm.feature import Feature
    from metaxy_orm.graph import FeatureGraph
    from metaxy_orm.store import MetadataStore

__all__ = [
    "CommentedOutOp",
    "DeleteMaterializationOp",
    "checked_materialization_id",
    "code_graph",
    "emit_offline",
    "feature_keys",
    "features_in_order",
    "graph_option",
    "is_offline",
    "offline_created_at",
    "offline_plan",
    "run_step",
    "store_for",
]

log = logging.getLogger(PROGRESS_LOGGER)


# -- shared by every data operation ---------------------------------------------------------


def feature_keys(features: str | Iterable[str]) -> list[str]:
    """One key or several, as a list of distinct keys in the order given."""
    keys = [features] if isinstance(features, str) else [str(f) for f in features]
    if not keys:
        raise ValueError("name at least one feature")
    return list(dict.fromkeys(keys))


def checked_materialization_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise CommandError(
            f"{what}: materialization_id must be a non-empty string (in a revision file, "
            f"pass materialization_id=revision: the revision's own id), got {value!r}"
        )
    return value


def code_graph(operations: Operations) -> FeatureGraph:
    """The graph of the code that runs the migration: ``graph=`` of configure, else the active."""
    return graph_option(operations.migration_context.opts)


def graph_option(opts: Mapping[str, Any]) -> FeatureGraph:
    """The feature graph of the context options (``graph=`` of configure), else the active."""
    from metaxy_orm.graph import FeatureGraph

    graph = opts.get(GRAPH_OPTION)
    if graph is None:
        return FeatureGraph.get_active()
    if not isinstance(graph, FeatureGraph):
        raise CommandError(
            f"context option {GRAPH_OPTION!r} must be a metaxy_orm.FeatureGraph, "
            f"got {type(graph).__name__}"
        )
    return graph


def features_in_order(
    operations: Operations, keys: Iterable[str], *, what: str, reverse: bool = False
) -> list[type[Feature]]:
    """The feature classes of these keys, upstream first (downstream first with ``reverse``)."""
    graph = code_graph(operations)
    wanted = list(keys)
    unknown = [k for k in wanted if k not in graph]
    if unknown:
        known = ", ".join(str(k) for k in graph.topological_order()) or "none"
        raise CommandError(
            f"{what}: feature(s) {', '.join(repr(k) for k in unknown)} not in the code's "
            f"feature graph (known: {known}). Does env.py import the module that defines them?"
        )
    order = {key: i for i, key in enumerate(graph.topological_order())}
    classes = sorted((graph.get_feature(k) for k in wanted), key=lambda f: order[f.feature_key()])
    if reverse:
        classes.reverse()
    return classes


def store_for(operations: Operations) -> MetadataStore:
    """A store on the migration's connection (it then works inside the migration's transaction)."""
    from metaxy_orm.store import MetadataStore

    options: Mapping[str, Any] = operations.migration_context.opts.get(STORE_OPTION) or {}
    return MetadataStore(operations.get_bind(), **options)


def is_offline(operations: Operations) -> bool:
    return bool(operations.migration_context.as_sql)


def run_step(label: str, step: int, steps: int, action: Callable[[], int], *, done: str) -> int:
    """Run one feature's statement, logging before and after: ``[1/2] reconcile crop: ...``."""
    counter = f"[{step}/{steps}] " if steps > 1 else ""
    log.info("%s%s ...", counter, label)
    started = time.perf_counter()
    count = action()
    log.info(
        "%s%s: %d row(s) %s in %.2f s", counter, label, count, done, time.perf_counter() - started
    )
    return count


# -- offline scripts -------------------------------------------------------------------------


def offline_plan(operations: Operations, feature: type[Feature]) -> ResolvePlan:
    """What the store plans for ``feature``, for the migration's dialect alone: an offline
    migration has no connection, and the store's statements need none to be compiled."""
    from metaxy_orm._sql.statements import statements_for_dialect as plan_for_dialect

    options: Mapping[str, Any] = operations.migration_context.opts.get(STORE_OPTION) or {}
    unknown = set(options) - {"hash_algorithm", "hash_truncation_length"}
    if unknown:
        raise CommandError(f"unknown store option(s) {sorted(unknown)}")
    return plan_for_dialect(feature, operations.migration_context.dialect, **options)


def offline_created_at(plan: ResolvePlan) -> sa.ColumnElement[Any]:
    """``metaxy_created_at`` for rows an offline script writes, taken in SQL when it runs.

    ``CURRENT_TIMESTAMP``, or just after the newest row of the table if that is later: the
    database's clock may be behind the clocks of the processes that wrote rows, and in a script
    that runs in one transaction ``CURRENT_TIMESTAMP`` is the same for every statement (two
    revisions that reconcile the same feature would otherwise write rows of equal times). This
    is the guarantee :func:`metaxy_orm.write_time.write_time` gives online: every write is
    strictly after the previous ones.
    """
    import sqlalchemy as sa

    from metaxy_orm.columns import CREATED_AT

    newest = sa.select(sa.func.max(plan.table.c[CREATED_AT])).scalar_subquery()
    after_newest = newest + sa.literal_column("INTERVAL '1 microsecond'")
    return sa.func.greatest(sa.func.current_timestamp(), after_newest)


def emit_offline(
    operations: Operations,
    statement: sa.Insert | sa.Delete,
    *,
    what: str,
    hashes: bool,
) -> None:
    """Write one statement into the offline script, its values inline.

    Values are always inlined (``literal_binds``), whether or not ``env.py`` asked for it: a
    script with placeholders could not run.
    """

    impl = operations.migration_context.impl
    if hashes and impl.dialect.name == "sqlite":
        raise CommandError(
            f"{what} needs a live connection on SQLite: it computes hashes with md5(), a Python "
            "function that metaxy-orm registers on each connection, which a SQL script run by "
            "sqlite3 does not have. Run this revision online (`alembic upgrade`), and write "
            "scripts only for the revisions around it (`alembic upgrade <from>:<to> --sql`)."
        )
    compiled = statement.compile(dialect=impl.dialect, compile_kwargs={"literal_binds": True})
    impl.static_output(str(compiled).replace("\t", "    ").strip() + impl.command_terminator)
    log.info("%s: SQL written to the script (offline: no row counts)", what)


# -- a proposal, written commented out ------------------------------------------------------


class CommentedOutOp(MigrateOperation):
    """An operation that autogenerate writes commented out, after a note that explains it.

    It is a proposal for the user, not a change: it never runs, and it is no difference for
    ``alembic check`` either (Alembic lists the differences of containers through their ``ops``,
    and this one has none). Its reverse is the wrapped operation's reverse, commented out too.
    """

    #: Seen by Alembic's ``as_diffs()`` as an empty container: no difference to report.
    ops: tuple[MigrateOperation, ...] = ()

    def __init__(self, operation: MigrateOperation, note: str, *, reverse_note: str) -> None:
        self.operation = operation
        self.note = note
        self.reverse_note = reverse_note

    def reverse(self) -> CommentedOutOp:
        return CommentedOutOp(self.operation.reverse(), self.reverse_note, reverse_note=self.note)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("commented_out", self.operation.to_diff_tuple())


# -- the reverse of reconcile and backfill ---------------------------------------------------


@Operations.register_operation("delete_materialization")
class DeleteMaterializationOp(MigrateOperation):
    """Delete the rows that one materialization (a reconcile or backfill) wrote into features.

    The reverse of :class:`~alembic_ext.reconcile_ops.ReconcileFeaturesOp` and
    :class:`~alembic_ext.backfill_ops.BackfillFeatureOp`. ``materialization_id=None`` stands for
    the revision's own id when the operation is written into a revision file.
    """

    def __init__(
        self,
        features: str | Sequence[str],
        *,
        materialization_id: str | None,
        _reverse: MigrateOperation | None = None,
    ) -> None:
        self.features = feature_keys(features)
        self.materialization_id = materialization_id
        self._reverse = _reverse

    @classmethod
    def delete_materialization(
        cls, operations: Operations, features: str | Sequence[str], *, materialization_id: str
    ) -> int:
        """Delete the rows of these features tagged with ``materialization_id``.

        This undoes ``op.reconcile_features`` and ``op.backfill_feature``: the rows that were
        the latest before them are the latest again. Returns the number of rows deleted; a
        second run deletes nothing.
        """
        return int(operations.invoke(cls(features, materialization_id=materialization_id)))

    def reverse(self) -> MigrateOperation:
        if self._reverse is None:
            raise ValueError(
                "deleting a materialization is not reversible: the rows are gone, and this "
                "operation does not know how they were computed"
            )
        return self._reverse

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("delete_materialization", tuple(self.features), self.materialization_id)


@Operations.implementation_for(DeleteMaterializationOp)
def delete_materialization(operations: Operations, operation: DeleteMaterializationOp) -> int:
    from metaxy_orm._sql.data_ops import undo_statement

    what = "delete_materialization"
    materialization_id = checked_materialization_id(operation.materialization_id, what)
    features = features_in_order(operations, operation.features, what=what, reverse=True)
    if is_offline(operations):
        for feature in features:
            plan = offline_plan(operations, feature)
            statement = undo_statement(plan, materialization_id)
            emit_offline(
                operations, statement, what=f"{what} {feature.feature_key()}", hashes=False
            )
        return 0
    store = store_for(operations)
    total = 0
    for step, feature in enumerate(features, 1):
        total += run_step(
            f"delete materialization {materialization_id} of {feature.feature_key()}",
            step,
            len(features),
            partial(store.delete_materialization, feature, materialization_id),
            done="deleted",
        )
    return total
