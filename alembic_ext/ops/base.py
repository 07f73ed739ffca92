"""One implementation for every feature data operation; each operation only configures it.

Reconcile, backfill, cleanup and delete-materialization do the same thing around different
statements: look the features up in the code's graph, order them (upstream first when writing,
downstream first when deleting), then, per feature, either run the store's statement on the
migration's connection (online, with progress logged before and after) or write it into the
SQL script (offline, ``alembic upgrade --sql``). That procedure is written once, here, as
:func:`run_feature_data_op`, the implementation that :mod:`alembic_ext.ops` registers for every
subclass of :class:`FeatureDataOp` (as alembic_utils registers one implementation for several
operation classes). A subclass declares what differs, as class attributes and two methods:

- :meth:`FeatureDataOp.online`: the store call for one feature (it returns a row count);
- :meth:`FeatureDataOp.offline`: the same statement, built without a connection.

What the procedure guarantees, for every operation:

- features are looked up by key in the code's feature graph (the one ``env.py`` imported, or
  the ``graph=`` given to :func:`alembic_ext.configure`), so a revision runs against the feature
  classes of the code that runs it; an unknown key is an error that lists the known ones;
- the store is ``MetadataStore(op.get_bind(), **store_options)`` (``store_options=`` of
  :func:`alembic_ext.configure`): it works inside the migration's transaction;
- ``materialization_id`` (operations that tag rows): a non-empty string; in revision files it
  is ``revision``, the revision's own id;
- offline, the statements are written with their values inline, and ``metaxy_created_at`` is
  computed in SQL when the script runs (:func:`offline_created_at`); a backend that cannot
  compute hashes in a plain SQL script (``Backend.offline_hashing_refusal``) refuses the
  operations that hash, saying why;
- on a database without transactions (``Backend.transactional`` false: ClickHouse), each
  feature's statement is compensated when it or its revision fails (:func:`_record_undo`, on
  the connection's :func:`~metaxy_orm._backends.undo.undo_log`): the rows it wrote are deleted,
  the rows it deleted are put back, so a failed revision leaves no row of its materialization.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from alembic.operations import MigrateOperation, Operations
from alembic.util import CommandError

from alembic_ext.options import graph_option, log, store_options

if TYPE_CHECKING:
    import sqlalchemy as sa

    from metaxy_orm._backends.undo import UndoLog
    from metaxy_orm._sql.statements import FeatureStatements
    from metaxy_orm.feature import Feature
    from metaxy_orm.store import MetadataStore

__all__ = [
    "DataRun",
    "FeatureDataOp",
    "feature_keys",
    "features_in_order",
    "offline_created_at",
    "run_feature_data_op",
]


def feature_keys(features: str | Iterable[str]) -> list[str]:
    """One key or several, as a list of distinct keys in the order given."""
    keys = [features] if isinstance(features, str) else [str(f) for f in features]
    if not keys:
        from metaxy_orm.exceptions import MigrationError

        raise MigrationError("name at least one feature")
    return list(dict.fromkeys(keys))


@dataclass(frozen=True)
class DataRun:
    """One execution of a data operation: where it runs and with which materialization id."""

    operations: Operations
    #: The checked id for operations that tag rows, ``None`` for the others.
    materialization_id: str | None
    #: Writing a SQL script (``--sql``) rather than running statements.
    offline: bool

    @property
    def tag(self) -> str:
        """The materialization id of an operation that tags rows (checked when the run began)."""
        assert self.materialization_id is not None
        return self.materialization_id


class FeatureDataOp(MigrateOperation):
    """A data operation on features: one statement per feature, run by
    :func:`run_feature_data_op`.

    ``materialization_id=None`` (operations that tag rows) stands for the revision's own id when
    the operation is written into a revision file (``materialization_id=revision``).
    """

    #: The operation's name: ``op.<name>``, and the start of its messages.
    name: ClassVar[str]
    #: What the row count of a statement is, in the progress log: ``written`` or ``deleted``.
    counts: ClassVar[str] = "written"
    #: Whether its statements compute hashes (refused offline where a script cannot hash).
    hashes: ClassVar[bool] = False
    #: Whether it tags rows, or finds them, by materialization id.
    tags_rows: ClassVar[bool] = False
    #: Downstream features first (deleting rows), else upstream first (writing them).
    downstream_first: ClassVar[bool] = False

    materialization_id: str | None = None

    def keys(self) -> list[str]:
        """The keys of the features it works on, in the order given."""
        raise NotImplementedError

    def label(self, feature: str) -> str:
        """How the progress log and error messages name its work on one feature."""
        return f"{self.name} {feature}"

    def selected(self, run: DataRun, features: list[type[Feature]]) -> list[type[Feature]]:
        """The features to work on, in order (an operation may skip some, with a warning)."""
        return features

    def online(self, run: DataRun, store: MetadataStore, feature: type[Feature]) -> int:
        """Run its statement on ``feature`` through the store; the number of rows."""
        raise NotImplementedError

    def offline(self, run: DataRun, plan: FeatureStatements) -> sa.Insert | sa.Delete:
        """Its statement on ``plan.feature``, for a SQL script (no connection)."""
        raise NotImplementedError


def _checked_materialization_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise CommandError(
            f"{what}: materialization_id must be a non-empty string (in a revision file, "
            f"pass materialization_id=revision: the revision's own id), got {value!r}"
        )
    return value


def features_in_order(
    operations: Operations, keys: Sequence[str], *, what: str, reverse: bool = False
) -> list[type[Feature]]:
    """The feature classes of these keys, upstream first (downstream first with ``reverse``)."""
    graph = graph_option(operations.migration_context.opts)
    unknown = [k for k in keys if k not in graph]
    if unknown:
        known = ", ".join(str(k) for k in graph.topological_order()) or "none"
        raise CommandError(
            f"{what}: feature(s) {', '.join(repr(k) for k in unknown)} not in the code's "
            f"feature graph (known: {known}). Does env.py import the module that defines them?"
        )
    order = {key: i for i, key in enumerate(graph.topological_order())}
    classes = sorted((graph.get_feature(k) for k in keys), key=lambda f: order[f.feature_key()])
    if reverse:
        classes.reverse()
    return classes


def run_feature_data_op(operations: Operations, operation: FeatureDataOp) -> int:
    """The implementation of every :class:`FeatureDataOp`: the rows written or deleted in all
    (0 in an offline script, where nothing runs)."""
    run = DataRun(
        operations,
        materialization_id=(
            _checked_materialization_id(operation.materialization_id, operation.name)
            if operation.tags_rows
            else None
        ),
        offline=bool(operations.migration_context.as_sql),
    )
    ordered = features_in_order(
        operations, operation.keys(), what=operation.name, reverse=operation.downstream_first
    )
    features = operation.selected(run, ordered)
    if run.offline:
        for feature in features:
            _write_offline(run, operation, feature)
        return 0
    from metaxy_orm._backends.undo import undo_log

    store = _store(operations)
    bind = operations.get_bind()
    undo = None if store.backend.transactional else undo_log(bind)
    mark = undo.mark() if undo is not None else 0
    total = 0
    try:
        for step, feature in enumerate(features, 1):
            if undo is not None:
                _record_undo(run, operation, feature, store, undo)
            total += _with_progress(
                operation.label(str(feature.feature_key())),
                step,
                len(features),
                partial(operation.online, run, store, feature),
                counts=operation.counts,
            )
    except BaseException:
        if undo is not None:  # the operation fails as a whole: undo the features it did
            undo.undo_since(bind, mark)
        raise
    return total


# -- compensation (databases without transactions) -------------------------------------------


def _record_undo(
    run: DataRun,
    operation: FeatureDataOp,
    feature: type[Feature],
    store: MetadataStore,
    undo: UndoLog,
) -> None:
    """Record, before it runs, how to reverse one feature's statement where nothing rolls back.

    The revision's rollback (Alembic brackets each revision in a transaction, which it rolls
    back when the revision fails) then runs it, as does a failure of this operation itself:

    - rows written (reconcile, backfill): they carry the operation's materialization id and a
      write time after this moment (``write_time`` never repeats or goes back), so exactly
      they are deleted, not rows an earlier run tagged with the same id;
    - rows deleted (cleanup, delete_materialization): they are copied first into a holding
      table (the operation's own ``DELETE``'s condition selects them), put back in one insert
      by the undo, and the holding table is dropped when the revision commits.
    """
    import sqlalchemy as sa

    from metaxy_orm._sql.statements import statements_for_dialect
    from metaxy_orm.columns import CREATED_AT, MATERIALIZATION_ID
    from metaxy_orm.store.errors import translated_errors
    from metaxy_orm.write_time import write_time

    conn = run.operations.get_bind()
    label = operation.label(str(feature.feature_key()))
    plan = statements_for_dialect(
        feature, conn.dialect, **store_options(run.operations.migration_context.opts)
    )
    table = plan.table
    if operation.counts == "written" and operation.tags_rows:
        since = write_time()
        written = sa.delete(table).where(
            table.c[MATERIALIZATION_ID] == run.tag,
            table.c[CREATED_AT] > sa.literal(since, table.c[CREATED_AT].type),
        )
        undo.record(f"{label}: its rows deleted", lambda c: _run(c, written))
        return
    statement = operation.offline(run, plan)
    if operation.counts != "deleted" or not isinstance(statement, sa.Delete):
        undo.irreversible(label)
        return
    holding = sa.Table(
        f"__mx_saved_{uuid.uuid4().hex[:16]}",
        sa.MetaData(),
        *(sa.Column(c.name, c.type, nullable=c.nullable) for c in table.columns),
        schema=table.schema,
    )
    columns = [c.name for c in table.columns]
    restore = sa.insert(table).from_select(columns, sa.select(*holding.columns))
    restore = restore.execution_options(**store.backend.write_options())

    def put_back(c: sa.Connection) -> None:
        if c.execute(sa.select(sa.func.count()).select_from(holding)).scalar_one():
            _run(c, restore)  # one INSERT ... SELECT: one block, all rows or none
        holding.drop(c)  # kept if putting back failed: the rows can be restored from it

    def drop(c: sa.Connection) -> None:
        holding.drop(c, checkfirst=True)

    doomed = sa.select(*table.columns)
    if statement.whereclause is not None:
        doomed = doomed.where(statement.whereclause)
    with translated_errors(store.backend, operation.name, str(feature.feature_key()), table):
        holding.create(conn)
        # recorded once the table exists, before it is filled: if filling fails, the DELETE
        # never runs and putting back the nothing saved is right
        undo.record(
            f"{label}: its deleted rows put back (saved in {holding.name}, dropped after)",
            put_back,
            on_commit=drop,
        )
        conn.execute(
            sa.insert(holding)
            .from_select(columns, doomed)
            .execution_options(**store.backend.write_options())
        )


def _run(conn: sa.Connection, statement: sa.Executable) -> None:
    conn.execute(statement)


# -- online ----------------------------------------------------------------------------------


def _store(operations: Operations) -> MetadataStore:
    """A store on the migration's connection (it then works inside the migration's transaction)."""
    from metaxy_orm.store import MetadataStore

    options = store_options(operations.migration_context.opts)
    return MetadataStore(operations.get_bind(), **options)


def _with_progress(
    label: str, step: int, steps: int, action: Callable[[], int], *, counts: str
) -> int:
    """Run one feature's statement, logging before and after: ``[1/2] reconcile crop: ...``."""
    counter = f"[{step}/{steps}] " if steps > 1 else ""
    log.info("%s%s ...", counter, label)
    started = time.perf_counter()
    count = action()
    log.info(
        "%s%s: %d row(s) %s in %.2f s", counter, label, count, counts, time.perf_counter() - started
    )
    return count


# -- offline scripts -------------------------------------------------------------------------


def _write_offline(run: DataRun, operation: FeatureDataOp, feature: type[Feature]) -> None:
    """Write one feature's statement into the offline script, its values inline.

    Values are always inlined (``literal_binds``), whether or not ``env.py`` asked for it: a
    script with placeholders could not run.
    """
    from metaxy_orm._backends import capabilities_for
    from metaxy_orm._sql.statements import statements_for_dialect

    label = operation.label(str(feature.feature_key()))
    context = run.operations.migration_context
    impl = context.impl
    plan = statements_for_dialect(feature, impl.dialect, **store_options(context.opts))
    statement = operation.offline(run, plan)  # the operation's own errors come first
    backend = capabilities_for(impl.dialect.name)
    if operation.hashes and backend.offline_hashing_refusal:
        raise CommandError(
            f"{label} needs a live connection on {backend.name}: "
            f"{backend.offline_hashing_refusal}, and write scripts only for the revisions "
            "around it (`alembic upgrade <from>:<to> --sql`)."
        )
    compiled = statement.compile(dialect=impl.dialect, compile_kwargs={"literal_binds": True})
    impl.static_output(str(compiled).replace("\t", "    ").strip() + impl.command_terminator)
    log.info("%s: SQL written to the script (offline: no row counts)", label)


def offline_created_at(plan: FeatureStatements) -> sa.ColumnElement[Any]:
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
