"""``MetadataStore``: resolve, write and read feature metadata in any SQLAlchemy database.

One class for every backend. The store owns no state besides its connection target and hash
settings; backend specifics (hash SQL, latest-row strategy, bulk loading, fetching) live in
:mod:`metaxy_orm._backends`, the SQL of ``resolve_update`` in :mod:`metaxy_orm.resolve` and the
checks of ``write`` in :mod:`metaxy_orm.batch`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, overload

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from metaxy_orm import operations
from metaxy_orm._backends import Backend, backend_for
from metaxy_orm.batch import (
    BatchContext,
    cast_to_table,
    check_not_null,
    check_one_row_per_sample,
    prepare_batch,
)
from metaxy_orm.columns import CREATED_AT, PROVENANCE
from metaxy_orm.exceptions import InvalidRowsError
from metaxy_orm.frames import Rows, polars_dtype, to_frame
from metaxy_orm.hashing import HashAlgorithm
from metaxy_orm.increment import Increment, LazyIncrement
from metaxy_orm.resolve import STATUS, ResolvePlan, feature_table, hash_settings
from metaxy_orm.versioning import DEFAULT_TRUNCATION
from metaxy_orm.write_time import write_time

if TYPE_CHECKING:
    from types import TracebackType

    from metaxy_orm.feature import Feature

__all__ = ["MetadataStore"]

Target = str | sa.URL | sa.Engine | sa.Connection | Session
DATABASE_URL_VARIABLE = "METAXY_ORM_DATABASE_URL"
DEFAULT_DATABASE_URL = "duckdb:///metaxy.duckdb"


class MetadataStore:
    """Feature metadata in a SQL database.

    ``target`` is a database URL (the store then owns its engine; close it with :meth:`close`
    or a ``with`` block), an ``Engine``, a ``Connection`` (e.g. inside an Alembic migration) or an
    ORM ``Session`` (the store then works inside the session's transaction and never commits).
    Without a target: ``$METAXY_ORM_DATABASE_URL``, or embedded DuckDB in ``./metaxy.duckdb``.
    """

    def __init__(
        self,
        target: Target | None = None,
        *,
        hash_algorithm: str | HashAlgorithm = HashAlgorithm.MD5,
        hash_truncation_length: int = DEFAULT_TRUNCATION,
    ) -> None:
        self._owned_engine: sa.Engine | None = None
        self._engine: sa.Engine | None = None
        self._connection: sa.Connection | None = None
        self._session: Session | None = None
        if target is None:
            target = os.environ.get(DATABASE_URL_VARIABLE) or DEFAULT_DATABASE_URL
        if isinstance(target, str | sa.URL):
            self._owned_engine = self._engine = sa.create_engine(target)
            dialect = self._engine.dialect
        elif isinstance(target, sa.Engine):
            self._engine = target
            dialect = target.dialect
        elif isinstance(target, sa.Connection):
            self._connection = target
            dialect = target.dialect
        elif isinstance(target, Session):
            self._session = target
            dialect = target.get_bind().dialect
        else:
            raise TypeError(
                "MetadataStore(target): expected a database URL, an Engine, a Connection or a "
                f"Session, got {type(target).__name__}"
            )
        self.backend: Backend = backend_for(dialect)
        engine = self._engine or (
            self._connection.engine
            if self._connection is not None
            else _session_engine(self._session)
        )
        if engine is not None:
            self.backend.attach(engine)
        self.settings = hash_settings(self.backend, hash_algorithm, hash_truncation_length)

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def hash_algorithm(self) -> HashAlgorithm:
        return self.settings.algorithm

    @property
    def hash_truncation_length(self) -> int:
        return self.settings.truncation

    def close(self) -> None:
        """Dispose of the engine the store created from a URL (nothing otherwise)."""
        if self._owned_engine is not None:
            self._owned_engine.dispose()

    def __enter__(self) -> MetadataStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _begin(self) -> Iterator[sa.Connection]:
        """A connection inside a transaction: ours (committed on success) or the caller's."""
        if self._session is not None:
            conn = self._session.connection()
            self.backend.prepare(conn)
            yield conn
        elif self._connection is not None:
            conn = self._connection
            self.backend.prepare(conn)
            if conn.in_transaction():
                yield conn
            else:
                with conn.begin():
                    self.backend.tune(conn)
                    yield conn
        else:
            assert self._engine is not None
            with self._engine.begin() as conn:
                self.backend.prepare(conn)
                self.backend.tune(conn)
                yield conn

    def _plan(self, feature: type[Feature]) -> ResolvePlan:
        return ResolvePlan(feature, feature.feature_graph(), self.backend, self.settings)

    # -- resolve_update --------------------------------------------------------------------

    @overload
    def resolve_update(
        self,
        feature: type[Feature],
        samples: Rows | sa.FromClause | None = ...,
        *,
        lazy: Literal[False] = ...,
    ) -> Increment: ...

    @overload
    def resolve_update(
        self,
        feature: type[Feature],
        samples: Rows | sa.FromClause | None = ...,
        *,
        lazy: Literal[True],
    ) -> LazyIncrement: ...

    def resolve_update(
        self,
        feature: type[Feature],
        samples: Rows | sa.FromClause | None = None,
        *,
        lazy: bool = False,
    ) -> Increment | LazyIncrement:
        """Which samples of ``feature`` are new, stale or orphaned.

        For a downstream feature the expected provenance is computed in the database from the
        parents' latest rows. A root feature needs ``samples``: the id columns and one
        ``metaxy_provenance__<field>`` column per field (a Polars frame or a list of dicts; with
        ``lazy=True`` a table or subquery in the same database). Extra sample columns are carried
        into ``new`` and ``stale``.

        ``lazy=True`` returns SQLAlchemy selects instead of running anything.
        """
        plan = self._plan(feature)
        spec = plan.spec
        if spec.deps and samples is not None:
            raise InvalidRowsError(
                f"resolve_update('{spec.key}'): samples= is for root features; '{spec.key}' has "
                "upstream features, and its expected samples are computed from them"
            )
        if not spec.deps and samples is None:
            columns = ", ".join(plan.provenance_columns)
            raise InvalidRowsError(
                f"resolve_update('{spec.key}'): '{spec.key}' is a root feature; pass samples= "
                f"with the id columns {list(spec.id_columns)} and {columns}"
            )
        if lazy:
            return self._resolve_lazy(plan, samples)
        if samples is None or isinstance(samples, sa.FromClause):
            expected = plan.expected() if samples is None else samples
            with self._begin() as conn:
                answer = self.backend.fetch_frame(conn, plan.increment(expected))
            return _split(answer, extra=None, ids=list(spec.id_columns))
        frame = _root_samples(plan, to_frame(samples, what=f"resolve_update('{spec.key}')"))
        keys = frame.select([*spec.id_columns, *plan.provenance_columns])
        types = {c: plan.table.c[c].type for c in spec.id_columns} | {
            c: sa.String() for c in plan.provenance_columns
        }
        with self._begin() as conn:
            uploaded = self.backend.upload(conn, keys, types)
            try:
                answer = self.backend.fetch_frame(conn, plan.increment(uploaded))
            except Exception:
                # The transaction may be aborted: cleaning up must not hide the real error.
                with contextlib.suppress(Exception):
                    self.backend.discard(conn, uploaded)
                raise
            self.backend.discard(conn, uploaded)
        extra = frame.drop([*plan.provenance_columns, PROVENANCE], strict=False)
        return _split(answer, extra=extra, ids=list(spec.id_columns))

    def _resolve_lazy(
        self, plan: ResolvePlan, samples: Rows | sa.FromClause | None
    ) -> LazyIncrement:
        if samples is not None and not isinstance(samples, sa.FromClause):
            raise InvalidRowsError(
                f"resolve_update('{plan.spec.key}', lazy=True): samples must be a table or "
                "subquery in the database; for a Polars frame or a list of dicts use lazy=False"
            )
        answer = plan.increment(plan.expected() if samples is None else samples).subquery(
            "__mx_increment"
        )
        columns = [c for c in answer.c if c.key != STATUS]

        def part(status: str) -> sa.Select[Any]:
            return sa.select(*columns).where(answer.c[STATUS] == status)

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
        plan = self._plan(feature)
        frame = to_frame(rows, what=f"write to feature '{plan.spec.key}'")
        if frame.is_empty():
            return 0
        ctx = BatchContext(
            spec=plan.spec,
            table=plan.table,
            settings=self.settings,
            feature_version=plan.feature_version,
            snapshot_version=plan.snapshot_version,
            droppable=set(plan.selected_columns()),
        )
        batch = prepare_batch(frame, ctx, materialization_id=materialization_id, now=write_time())
        with self._begin() as conn:
            self.backend.bulk_insert(conn, plan.table, batch)
        return batch.height

    # -- data operations (what the Alembic extension runs) --------------------------------

    def _execute_count(self, statement: sa.Executable) -> int:
        with self._begin() as conn:
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
        plan = self._plan(feature)
        statement = operations.reconcile_statement(
            plan,
            snapshot_version=plan.snapshot_version,
            materialization_id=materialization_id,
            created_at=write_time(),
        )
        return self._execute_count(statement)

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
        plan = self._plan(feature)
        statement = operations.backfill_statement(
            plan,
            source,
            snapshot_version=plan.snapshot_version,
            materialization_id=materialization_id,
            created_at=write_time(),
        )
        return self._execute_count(statement)

    def cleanup(self, feature: type[Feature], *, keep_last: int = 1) -> int:
        """Delete rows that are not among the ``keep_last`` newest of their sample.

        This cannot be undone. Returns the number of rows deleted.
        """
        return self._execute_count(
            operations.cleanup_statement(self._plan(feature), keep_last=keep_last)
        )

    def delete_materialization(self, feature: type[Feature], materialization_id: str) -> int:
        """Delete the rows written under ``materialization_id`` (undoes reconcile/backfill)."""
        return self._execute_count(
            operations.undo_statement(self._plan(feature), materialization_id)
        )

    # -- read ------------------------------------------------------------------------------

    def read(self, feature: type[Feature], *, history: bool = False) -> pl.DataFrame:
        """The latest row per sample (every row with ``history=True``), sorted by id."""
        table = feature_table(feature)
        ids = list(feature.feature_spec().id_columns)
        if history:
            stmt = sa.select(*table.c).order_by(*(table.c[c] for c in ids), table.c[CREATED_AT])
        else:
            latest = self.backend.latest_rows(table, ids, list(table.c), CREATED_AT).subquery()
            stmt = sa.select(*latest.c).order_by(*(latest.c[c] for c in ids))
        with self._begin() as conn:
            return self.backend.fetch_frame(conn, stmt)

    def __repr__(self) -> str:
        return (
            f"MetadataStore({self.backend.name}, hash_algorithm='{self.settings.algorithm.value}', "
            f"hash_truncation_length={self.settings.truncation})"
        )


def _session_engine(session: Session | None) -> sa.Engine | None:
    bind = session.get_bind() if session is not None else None
    if isinstance(bind, sa.Connection):
        return bind.engine
    return bind if isinstance(bind, sa.Engine) else None


def _root_samples(plan: ResolvePlan, frame: pl.DataFrame) -> pl.DataFrame:
    """Check a root feature's samples: id and provenance columns, types, one row per sample."""
    spec = plan.spec
    where = f"resolve_update('{spec.key}')"
    required = [*spec.id_columns, *plan.provenance_columns]
    if not frame.columns:  # an empty list: no sample is expected any more
        frame = pl.DataFrame(
            schema={c: polars_dtype(plan.table.c[c].type) for c in spec.id_columns}
            | {c: pl.String() for c in plan.provenance_columns}
        )
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InvalidRowsError(f"{where}: samples lack column(s) {missing}")

    def fail(message: str) -> InvalidRowsError:
        return InvalidRowsError(f"{where}: {message}")

    check_not_null(frame, required, fail)
    frame = cast_to_table(frame, plan.table, list(spec.id_columns), fail)
    frame = frame.with_columns(pl.col(c).cast(pl.String) for c in plan.provenance_columns)
    check_one_row_per_sample(frame, list(spec.id_columns), fail)
    return frame


def _split(answer: pl.DataFrame, *, extra: pl.DataFrame | None, ids: list[str]) -> Increment:
    def part(status: str, with_extra: bool) -> pl.DataFrame:
        rows = answer.filter(pl.col(STATUS) == status).drop(STATUS)
        if with_extra and extra is not None and len(extra.columns) > len(ids):
            rows = rows.join(extra, on=ids, how="left")
        return rows.sort(ids)

    return Increment(
        new=part("new", True), stale=part("stale", True), orphaned=part("orphaned", False)
    )
