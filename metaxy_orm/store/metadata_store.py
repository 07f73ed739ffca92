"""``MetadataStore``: resolve, write and read feature metadata in any SQLAlchemy database.

One class for every backend. The store owns no state besides its connection target and hash
settings; it orchestrates: backend specifics (hash SQL, latest-row strategy, bulk loading,
fetching) live in :mod:`metaxy_orm._backends`, the statements in :mod:`metaxy_orm._sql`, the
checks of ``write`` in :mod:`.batch`, the target and transactions in :mod:`.connection`.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Literal, overload

import polars as pl
import sqlalchemy as sa

from metaxy_orm._sql import data_ops
from metaxy_orm._sql.increment import (
    STATUS,
    changed_columns,
    given_samples,
    increment_statement,
    status_counts_statement,
)
from metaxy_orm._sql.settings import hash_settings
from metaxy_orm._sql.statements import FeatureStatements, require_feature
from metaxy_orm.columns import CREATED_AT, DATA_VERSION, MATERIALIZATION_ID, PROVENANCE
from metaxy_orm.exceptions import InvalidRowsError
from metaxy_orm.frames import Rows, to_frame
from metaxy_orm.hashing import HashAlgorithm
from metaxy_orm.increment import Increment, LazyIncrement
from metaxy_orm.store.batch import BatchContext, prepare_batch
from metaxy_orm.store.connection import StoreConnection, Target
from metaxy_orm.store.errors import translated_errors
from metaxy_orm.store.incremental import Incremental, StateTable
from metaxy_orm.store.samples import check_root_samples, split_increment
from metaxy_orm.store.status import FeatureStatus
from metaxy_orm.versioning import DEFAULT_TRUNCATION
from metaxy_orm.write_time import write_time

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import TracebackType

    from metaxy_orm._backends import Backend
    from metaxy_orm.feature import Feature
    from metaxy_orm.graph import FeatureGraph

__all__ = ["MetadataStore"]


class MetadataStore:
    """Feature metadata in a SQL database.

    ``target`` is a database URL (the store then owns its engine; close it with :meth:`close`
    or a ``with`` block), an ``Engine``, a ``Connection`` (e.g. inside an Alembic migration) or an
    ORM ``Session`` (the store then works inside the session's transaction and never commits).
    Without a target: ``$METAXY_ORM_DATABASE_URL``, or the embedded default database file
    (``metaxy_orm._backends.EMBEDDED_DEFAULT_URL``).
    """

    def __init__(
        self,
        target: Target | None = None,
        *,
        hash_algorithm: str | HashAlgorithm = HashAlgorithm.MD5,
        hash_truncation_length: int = DEFAULT_TRUNCATION,
    ) -> None:
        self._db = StoreConnection(target)
        self.backend: Backend = self._db.backend
        self.settings = hash_settings(self.backend, hash_algorithm, hash_truncation_length)
        #: The incremental resolve state table (``metaxy_orm.store.incremental``).
        self._states = StateTable(self.backend)

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def hash_algorithm(self) -> HashAlgorithm:
        return self.settings.algorithm

    @property
    def hash_truncation_length(self) -> int:
        return self.settings.truncation

    def close(self) -> None:
        """Dispose of the engine the store created from a URL (nothing otherwise)."""
        self._db.close()

    def __enter__(self) -> MetadataStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _statements(self, feature: type[Feature]) -> FeatureStatements:
        require_feature(feature)
        return FeatureStatements(feature, feature.feature_graph(), self.backend, self.settings)

    @contextlib.contextmanager
    def _transaction(
        self, action: str, stmts: FeatureStatements, *, one_snapshot: bool = False
    ) -> Iterator[sa.Connection]:
        """A transaction whose database errors become metaxy-orm errors naming the feature
        (``one_snapshot``: see :meth:`StoreConnection.begin`)."""
        key = str(stmts.spec.key)
        with (
            translated_errors(self.backend, action, key, stmts.table),
            self._db.begin(one_snapshot=one_snapshot) as conn,
        ):
            yield conn

    # -- resolve_update --------------------------------------------------------------------

    @overload
    def resolve_update(
        self,
        feature: type[Feature],
        samples: Rows | sa.FromClause | None = ...,
        *,
        lazy: Literal[False] = ...,
        verify: bool = ...,
    ) -> Increment: ...

    @overload
    def resolve_update(
        self,
        feature: type[Feature],
        samples: Rows | sa.FromClause | None = ...,
        *,
        lazy: Literal[True],
        verify: bool = ...,
    ) -> LazyIncrement: ...

    def resolve_update(
        self,
        feature: type[Feature],
        samples: Rows | sa.FromClause | None = None,
        *,
        lazy: bool = False,
        verify: bool = False,
    ) -> Increment | LazyIncrement:
        """Which samples of ``feature`` are new, stale or orphaned.

        For a downstream feature the expected provenance is computed in the database from the
        parents' latest rows. A root feature needs ``samples``: the id columns and one
        ``metaxy_provenance__<field>`` column per field (a Polars frame or a list of dicts; with
        ``lazy=True`` a table or subquery in the same database). Extra sample columns are carried
        into ``new`` and ``stale``.

        ``lazy=True`` returns SQLAlchemy selects instead of running anything.

        A downstream feature's answer is incremental: the fingerprints of the tables it reads
        under which the last answer was computed are kept in the database, and only the
        samples with rows appended since are compared again; anything else (deleted or
        rewritten rows, a new code version, filters...) computes in full
        (:mod:`metaxy_orm.store.incremental`). ``verify=True`` always computes in full.
        """
        stmts = self._statements(feature)
        spec = stmts.spec
        if spec.deps and samples is not None:
            raise InvalidRowsError(
                f"resolve_update('{spec.key}'): samples= is for root features; '{spec.key}' has "
                "upstream features, and its expected samples are computed from them"
            )
        if not spec.deps and samples is None:
            columns = ", ".join(stmts.provenance_columns)
            raise InvalidRowsError(
                f"resolve_update('{spec.key}'): '{spec.key}' is a root feature; pass samples= "
                f"with the id columns {list(spec.id_columns)} and {columns}"
            )
        if lazy:
            return self._resolve_lazy(stmts, samples)
        if samples is None or isinstance(samples, sa.FromClause):
            with self._transaction("resolve_update", stmts, one_snapshot=True) as conn:
                if samples is None and Incremental.eligible(stmts):
                    answer = Incremental(stmts, conn, self._states).resolve(verify=verify)
                else:
                    expected = stmts.expected() if samples is None else samples
                    answer = self.backend.fetch_frame(conn, increment_statement(stmts, expected))
            return split_increment(
                answer,
                extra=None,
                ids=list(spec.id_columns),
                expected_ids=list(stmts.expected_ids),
            )
        return self._resolve_root_samples(stmts, samples, verify=verify)

    def _resolve_root_samples(
        self,
        stmts: FeatureStatements,
        samples: Rows,
        *,
        orphans: bool = True,
        verify: bool = False,
    ) -> Increment:
        """The increment of a root feature for samples given in memory.

        ``orphans=False`` compares only the given samples with their stored rows (a LEFT JOIN
        from them): the stored samples not given are neither read nor reported orphaned.
        """
        spec = stmts.spec
        rows = to_frame(
            samples,
            what=f"resolve_update('{spec.key}')",
            columns={c: stmts.table.c[c].type for c in spec.id_columns},
            ids=spec.id_columns,
        )
        frame = check_root_samples(stmts, rows)
        keys = frame.select([*spec.id_columns, *stmts.provenance_columns])
        types = {c.name: c.type for c in given_samples(stmts, "").columns}
        with self._transaction("resolve_update", stmts, one_snapshot=True) as conn:

            def compare() -> pl.DataFrame:
                uploaded = self.backend.upload(conn, keys, types)
                try:
                    answer = self.backend.fetch_frame(
                        conn, increment_statement(stmts, uploaded, orphans=orphans)
                    )
                except Exception:
                    # The transaction may be aborted: cleaning up must not hide the real error.
                    with contextlib.suppress(Exception):
                        self.backend.discard(conn, uploaded)
                    raise
                self.backend.discard(conn, uploaded)
                return answer

            if orphans and Incremental.eligible(stmts):
                incremental = Incremental(stmts, conn, self._states, given=True)
                answer = incremental.resolve_given(keys, compare, verify=verify)
            else:
                answer = compare()
        extra = frame.drop([*stmts.provenance_columns, PROVENANCE], strict=False)
        return split_increment(answer, extra=extra, ids=list(spec.id_columns))

    def _resolve_lazy(
        self, stmts: FeatureStatements, samples: Rows | sa.FromClause | None
    ) -> LazyIncrement:
        if samples is not None and not isinstance(samples, sa.FromClause):
            raise InvalidRowsError(
                f"resolve_update('{stmts.spec.key}', lazy=True): samples must be a table or "
                "subquery in the database; for a Polars frame or a list of dicts use lazy=False"
            )
        answer = increment_statement(
            stmts, stmts.expected() if samples is None else samples
        ).subquery("__mx_increment")
        flags = set(changed_columns(stmts))
        columns = [c for c in answer.c if c.key != STATUS]
        # expansion: new and stale rows are per parent, without the child-only id columns
        child_only = set(stmts.spec.id_columns) - set(stmts.expected_ids)

        def part(status: str) -> sa.Select[Any]:
            kept = [c for c in columns if status == "orphaned" or c.key not in child_only]
            if status != "stale":  # only a stale sample has fields that did not change
                kept = [c for c in kept if c.key not in flags]
            return sa.select(*kept).where(answer.c[STATUS] == status)

        return LazyIncrement(new=part("new"), stale=part("stale"), orphaned=part("orphaned"))

    # -- write -----------------------------------------------------------------------------

    def write(
        self, feature: type[Feature], rows: Rows, *, materialization_id: str | None = None
    ) -> int:
        """Append rows (all or none) and return how many were written.

        Each row needs the id columns and ``metaxy_provenance__<field>`` for every field (as
        ``resolve_update`` returns them); ``metaxy_data_version__<field>`` may be given to stop
        needless downstream recomputation. The store fills ``metaxy_provenance``,
        ``metaxy_data_version`` (where absent), ``metaxy_feature_version``,
        ``metaxy_snapshot_version`` and ``metaxy_created_at``.
        """
        stmts = self._statements(feature)
        frame = to_frame(
            rows,
            what=f"write to feature '{stmts.spec.key}'",
            columns={c.name: c.type for c in stmts.table.c},
            ids=stmts.spec.id_columns,
        )
        if frame.is_empty():
            return 0
        ctx = BatchContext(
            spec=stmts.spec,
            table=stmts.table,
            settings=self.settings,
            feature_version=stmts.feature_version,
            snapshot_version=stmts.snapshot_version,
            droppable={*stmts.selected_columns(), *changed_columns(stmts)},
            backend=self.backend,
        )
        batch = prepare_batch(frame, ctx, materialization_id=materialization_id, now=write_time())
        with self._transaction("write", stmts) as conn:
            self.backend.bulk_insert(conn, stmts.table, batch)
            root = not stmts.spec.deps
            slot = Incremental.slot_of(stmts, given=root)
            carried = self._states.carried(slot, batch.height)
            if carried is not None and Incremental.eligible(stmts):
                Incremental(stmts, conn, self._states, given=root).after_write(carried, batch)
        return batch.height

    # -- data operations (what the Alembic extension runs) --------------------------------

    def _execute_count(
        self,
        action: str,
        stmts: FeatureStatements,
        statement: sa.Executable,
        where: sa.ColumnElement[bool] | None = None,
    ) -> int:
        """Run an INSERT/DELETE on the feature's table; how many rows it wrote or deleted.

        Where the database reports no row count (ClickHouse), the rows matching ``where`` are
        counted before and after instead.
        """
        counted = sa.select(sa.func.count()).select_from(stmts.table)
        if where is not None:
            counted = counted.where(where)
        with self._transaction(action, stmts) as conn:
            statement = statement.execution_options(**self.backend.write_options())
            if not self.backend.reports_rowcount:
                before = int(conn.execute(counted).scalar_one())
                conn.execute(statement)
                return abs(int(conn.execute(counted).scalar_one()) - before)
            # rowcount of INSERT ... SELECT is only kept when asked for (SQLAlchemy 2.0.28+)
            result = conn.execute(statement.execution_options(preserve_rowcount=True))
            return int(result.rowcount)

    def reconcile(self, feature: type[Feature], *, materialization_id: str) -> int:
        """Move the feature's stale latest rows onto the current versions, without recomputing.

        For changes that do not change outputs (a refactor, a code-version bump of a fix that
        does not touch results): new rows keep the user's columns and carry the recomputed
        provenance, tagged with ``materialization_id``. Reconcile upstream features first.
        Returns the number of rows written; a second run writes nothing.
        """
        stmts = self._statements(feature)
        statement = data_ops.reconcile_statement(
            stmts,
            snapshot_version=stmts.snapshot_version,
            materialization_id=materialization_id,
            created_at=write_time(),
        )
        return self._execute_count(
            "reconcile", stmts, statement, _tagged(stmts.table, materialization_id)
        )

    def backfill(
        self,
        feature: type[Feature],
        source: sa.FromClause | sa.Select[Any],
        *,
        materialization_id: str,
    ) -> int:
        """Insert rows from another table or query, with provenance computed in the database.

        Samples the feature already holds up to date are skipped, so a second run writes
        nothing. Returns the number of rows written.
        """
        stmts = self._statements(feature)
        statement = data_ops.backfill_statement(
            stmts,
            source,
            snapshot_version=stmts.snapshot_version,
            materialization_id=materialization_id,
            created_at=write_time(),
        )
        return self._execute_count(
            "backfill", stmts, statement, _tagged(stmts.table, materialization_id)
        )

    def cleanup(self, feature: type[Feature], *, keep_last: int = 1) -> int:
        """Delete rows that are not among the ``keep_last`` newest of their sample.

        This cannot be undone. Returns the number of rows deleted.
        """
        stmts = self._statements(feature)
        return self._execute_count(
            "cleanup", stmts, data_ops.cleanup_statement(stmts, keep_last=keep_last)
        )

    def delete_materialization(self, feature: type[Feature], materialization_id: str) -> int:
        """Delete the rows written under ``materialization_id`` (undoes reconcile/backfill)."""
        stmts = self._statements(feature)
        return self._execute_count(
            "delete_materialization",
            stmts,
            data_ops.undo_statement(stmts, materialization_id),
            _tagged(stmts.table, materialization_id),
        )

    # -- status ----------------------------------------------------------------------------

    def status(
        self,
        feature: type[Feature] | None = None,
        *,
        graph: FeatureGraph | None = None,
        verify: bool = False,
    ) -> list[FeatureStatus]:
        """Per feature: stored rows and samples, and how many samples are new, stale, orphaned.

        One grouped query per feature; only counts travel. With no ``feature``, every feature of
        ``graph`` (default: the active graph) in topological order. Root features report ``None``
        for new, stale and orphaned: their expected samples are only known to the caller.
        Incremental like :meth:`resolve_update`; ``verify=True`` counts in full.
        """
        from metaxy_orm.graph import FeatureGraph

        if feature is not None:
            features = [feature]
        else:
            active = graph or FeatureGraph.get_active()
            features = [active.get_feature(k) for k in active.topological_order()]
        return [self._status_of(f, verify=verify) for f in features]

    def _status_of(self, feature: type[Feature], *, verify: bool) -> FeatureStatus:
        stmts = self._statements(feature)
        is_root = not stmts.spec.deps
        with self._transaction("status", stmts, one_snapshot=True) as conn:
            if Incremental.eligible(stmts):
                found = Incremental(stmts, conn, self._states).status(verify=verify)
                counts = {k: int(v) for k, v in found.items() if v is not None}
            else:
                expected = None if is_root else stmts.expected()
                counts = {
                    str(what): int(n)
                    for what, n in conn.execute(status_counts_statement(stmts, expected))
                }

        def increment(status: str) -> int | None:
            return None if is_root else counts.get(status, 0)

        return FeatureStatus(
            str(stmts.spec.key),
            rows=counts.get("rows", 0),
            samples=counts.get("samples", 0),
            new=increment("new"),
            stale=increment("stale"),
            orphaned=increment("orphaned"),
            is_root=is_root,
        )

    # -- read ------------------------------------------------------------------------------

    def read(self, feature: type[Feature], *, history: bool = False) -> pl.DataFrame:
        """The latest row per sample (every row with ``history=True``), sorted by id."""
        stmts = self._statements(feature)
        table = stmts.table
        ids = list(stmts.spec.id_columns)
        if history:
            # oldest first: the reverse of the latest-row order
            stmt = sa.select(*table.c).order_by(
                *(table.c[c] for c in ids), table.c[CREATED_AT], table.c[DATA_VERSION]
            )
        else:
            latest = self.backend.latest_rows(table, ids, list(table.c)).subquery()
            stmt = sa.select(*latest.c).order_by(*(latest.c[c] for c in ids))
        with self._transaction("read", stmts) as conn:
            return self.backend.fetch_frame(conn, stmt)

    def __repr__(self) -> str:
        return (
            f"MetadataStore({self.backend.name}, hash_algorithm='{self.settings.algorithm.value}', "
            f"hash_truncation_length={self.settings.truncation})"
        )


def _tagged(table: sa.Table, materialization_id: str) -> sa.ColumnElement[bool]:
    return table.c[MATERIALIZATION_ID] == materialization_id
