"""Incremental ``resolve_update`` and ``status``: time proportional to what changed.

State. Per feature, the system table ``metaxy_resolve_state`` keeps the fingerprints under which
an answer was last computed, and that answer's counts: the claim "when the tables read held
exactly the rows these fingerprints describe, the increment had ``new``/``stale``/``orphaned``
samples (and the feature ``samples`` distinct samples)". A fingerprint of a table is its row
count, the newest write time (the watermark) and an additive checksum: sums of a 64-bit hash of
each row's columns that the answer depends on (ids, write time, data versions, provenance,
feature version, selected columns). A key digests everything else the answer depends on: the
SQL of the full computation itself (code versions, feature version, hash settings, lineage,
renames, selects, parents) and the columns hashed.

Resolving. One statement reads, per table, the count and checksum of all rows and of the rows
written up to the stored watermark. If for every table the latter equal the stored ones, the
rows written up to the watermark are exactly the rows the stored answer was computed on: a
deleted row (raw DELETE, ``cleanup``), a row changed in place (raw UPDATE) or a row inserted
with a write time at or before the watermark (a late commit, or raw SQL) changes the count or
the checksum, and the full computation runs instead. So the only change is rows appended after
the watermark, and only the samples they belong to (ids of appended own rows, and of appended
parent rows, which carry the feature's id columns) can have changed. Then:

- nothing appended: the stored counts are the answer (``status``); ``resolve_update`` answers
  an empty increment when they are all zero, and computes in full otherwise (only counts are
  kept, not the samples);
- rows appended: the increment is computed on the touched samples only (every base table
  filtered to them before the latest-row window). A sample not touched has the same rows as
  when the stored answer was computed, so the same status. ``status`` takes the stored counts,
  minus those of the touched samples as they were (the same restricted statement on the rows
  up to the watermarks), plus those of the touched samples now. ``resolve_update`` needs every
  out-of-sync sample: the touched samples' old counts must equal the stored counts (every
  sample out of sync then was touched since), else it computes in full.

The old counts of the touched samples cost a second restricted statement; the usual cycle
(resolve, compute, write what was asked) spares it: a state stored by ``resolve_update`` keeps
a digest of the ids of its out-of-sync samples, and when the ids of the feature's own rows
written since have that very digest, every out-of-sync sample was touched (and the old counts
of the touched samples are the stored counts).

Writes. A resolve is usually followed by a write of exactly what it asked for. When a write's
batch holds exactly the new and stale samples of the state this store last stored or read,
with their expected per-field provenances (a digest kept in the state), the state is carried
over the write in its transaction (:meth:`Incremental.after_write`): the own table's
fingerprint moves forward by the batch's rows alone, and the answer becomes "nothing new or
stale, the same orphans". So the next resolve does not verify the rows just written, and costs
what changed after them. Any other write (part of the increment, other values, rows of another
writer in between) carries nothing, and the next resolve verifies the write as before.

A share test keeps big appends on the full computation (past a third of the rows read, the
restricted statements cost more than it); below 100k rows read, incremental either way.

This holds for identity lineage (renames, several and optional parents, selects): a sample's
expected and current rows then depend only on that sample's rows in each table. Expansion,
aggregation and filters (SQL text may read other tables) always compute in full, as do
``verify=True`` and a feature whose key changed.

Snapshots. The fingerprints are read in one statement, so on one snapshot. The computation
runs in later statements, which on PostgreSQL (READ COMMITTED) and ClickHouse may see rows
committed in between; so after computing, the fingerprints are read again, and the state is
stored (and an incremental answer trusted) only if they did not move (not on DuckDB, where
the store's transaction is one MVCC snapshot). Every stored state is
then a statement about the rows those fingerprints describe, true whenever it was written, so
concurrent writers of states cannot make one another wrong, and the newest is read. (One
residue, on READ COMMITTED and ClickHouse only: a row inserted and deleted again, exactly,
between the two readings could be seen by the computation and not by the fingerprints.)

A checksum of 64 bits per row misses a change only if a changed set of rows sums to the same
value (about 2**-64 for an accidental change). Where the state table cannot be created or
written (a read-only database), the store silently computes in full.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl
import sqlalchemy as sa

from metaxy_orm._sql.fingerprints import (
    FingerprintedTable,
    RestrictedStatements,
    appended_print_statement,
    count_samples_statement,
    fingerprint_statement,
    state_table,
    touched_ids,
)
from metaxy_orm._sql.increment import (
    STATUS,
    given_samples,
    increment_statement,
    status_counts,
    status_counts_statement,
)
from metaxy_orm._sql.statements import feature_table
from metaxy_orm.columns import (
    CREATED_AT,
    DATA_VERSION,
    FEATURE_VERSION,
    PROVENANCE,
    data_version_column,
)
from metaxy_orm.frames import polars_schema

if TYPE_CHECKING:
    from metaxy_orm._backends import Backend
    from metaxy_orm._sql.statements import FeatureStatements

__all__ = ["STATUSES", "Incremental", "StateTable"]

#: Bump when what a state means changes: older states are then ignored.
_FORMAT = 2  # 2: PostgreSQL's row hash became its record hash
STATUSES = ("new", "stale", "orphaned")
#: Incremental only while at most this share of the rows read was appended; past it, the
#: restricted statements (up to two of them) cost more than one full computation. Below
#: ``_SMALL`` rows read in all, either way is fast: incremental, whatever the share.
_APPENDED_SHARE = 1 / 3
_SMALL = 100_000


@dataclass(frozen=True)
class TablePrint:
    """A table's fingerprint: rows, checksum halves, newest write time."""

    rows: int
    lo: int
    hi: int
    watermark: datetime.datetime | None

    def to_json(self) -> list[Any]:
        mark = None if self.watermark is None else self.watermark.isoformat()
        return [self.rows, str(self.lo), str(self.hi), mark]

    @classmethod
    def from_json(cls, value: list[Any]) -> TablePrint:
        rows, lo, hi, mark = value
        watermark = None if mark is None else datetime.datetime.fromisoformat(mark)
        return cls(int(rows), int(lo), int(hi), watermark)


@dataclass(frozen=True)
class State:
    """What was true of a feature's increment under some fingerprints (module docstring)."""

    key: str
    tables: dict[str, TablePrint]
    counts: dict[str, int] | None  # None: a root feature (status only)
    samples: int | None  # None: not counted
    #: Digest of the ids of the samples out of sync (:func:`_digest`), where known.
    pending: str | None = None
    #: Digests of the ids and expected per-field provenances of the new and stale samples, and
    #: of the ids of the orphaned ones (a state stored by ``resolve_update``): a write of exactly
    #: those rows puts every new and stale sample in sync (:meth:`Incremental.after_write`).
    expected: str | None = None
    orphans: str | None = None
    #: A root feature's state (stored by ``resolve_update(root, samples)``): the digest of the
    #: samples given, ids and per-field provenances, that the answer was computed for.
    given: str | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "key": self.key,
                "tables": {k: v.to_json() for k, v in self.tables.items()},
                "counts": self.counts,
                "samples": self.samples,
                "pending": self.pending,
                "expected": self.expected,
                "orphans": self.orphans,
                "given": self.given,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> State:
        data = json.loads(text)
        counts = data["counts"]
        return cls(
            key=str(data["key"]),
            tables={k: TablePrint.from_json(v) for k, v in data["tables"].items()},
            counts=None if counts is None else {str(k): int(v) for k, v in counts.items()},
            samples=None if data["samples"] is None else int(data["samples"]),
            pending=_optional(data.get("pending")),
            expected=_optional(data.get("expected")),
            orphans=_optional(data.get("orphans")),
            given=_optional(data.get("given")),
        )

    @property
    def in_sync(self) -> bool:
        return self.counts is not None and not any(self.counts.values())


@dataclass(frozen=True)
class Reading:
    """One read of the fingerprints: now, and of the rows up to the stored watermarks."""

    now: dict[str, TablePrint]
    up_to: dict[str, tuple[int, int, int]]

    def matches(self, state: State) -> bool:
        """Whether the rows up to each stored watermark are exactly those of the state."""
        if set(state.tables) != set(self.now):
            return False
        return all(self.up_to[name] == (p.rows, p.lo, p.hi) for name, p in state.tables.items())

    def appended(self, state: State) -> dict[str, int]:
        """Rows written after each stored watermark (``matches`` must hold)."""
        return {name: self.now[name].rows - self.up_to[name][0] for name in self.now}


@dataclass
class StateTable:
    """The store's access to the state table: created on first need, disabled on failure."""

    backend: Backend
    present: bool = False
    disabled: bool = False
    #: What the last resolve or status of this store did, per feature key ("unchanged",
    #: "incremental" or "full"; "carried" after a write that carried the state): an inspection
    #: hook for tests and benchmarks.
    last_path: dict[str, str] = field(default_factory=dict)
    #: The state last read or written, per feature key.
    cache: dict[str, State] = field(default_factory=dict)

    @property
    def table(self) -> sa.Table:
        return state_table(self.backend)

    def load(self, conn: sa.Connection, feature: str, key: str) -> State | None:
        if self.disabled:
            return None
        # Any state ever stored is true of the rows it describes, so the one this store last
        # read or wrote serves as well as the newest in the table (a statement saved).
        cached = self.cache.get(feature)
        if cached is not None and cached.key == key:
            return cached
        if not self.present:
            try:
                self.present = sa.inspect(conn).has_table(self.table.name)
            except sa.exc.SQLAlchemyError:
                return None
            if not self.present:
                return None
        t = self.table
        stmt = (
            sa.select(t.c.state)
            .where(t.c.feature == feature)
            .order_by(t.c.written_ns.desc())
            .limit(1)
        )
        text = conn.execute(stmt).scalar()
        if text is None:
            return None
        try:
            state = State.from_json(str(text))
        except (ValueError, KeyError, TypeError):
            return None
        if state.key != key:
            return None
        self.cache[feature] = state
        return state

    def carried(self, feature: str, rows: int) -> State | None:
        """The cached state a write of ``rows`` rows may carry forward, if any (a cheap test
        before :meth:`Incremental.after_write` proves it)."""
        state = self.cache.get(feature)
        if self.disabled or state is None or state.expected is None or state.counts is None:
            return None
        if state.counts["new"] + state.counts["stale"] != rows:
            return None
        return state

    def save(self, conn: sa.Connection, feature: str, state: State) -> None:
        if self.disabled:
            return
        fingerprint = self.backend.fingerprint
        assert fingerprint is not None
        t = self.table
        try:
            with fingerprint.guard(conn):
                if not self.present:
                    # Not marked present here: until this transaction commits, the table is
                    # invisible to the store's other connections (threads); load() marks it
                    # once it sees it.
                    t.create(conn, checkfirst=True)
                if self.backend.transactional:
                    conn.execute(sa.delete(t).where(t.c.feature == feature))
                values = {
                    "feature": feature,
                    "written_ns": time.time_ns(),
                    "state": state.to_json(),
                }
                conn.execute(sa.insert(t).values(**values))
        except Exception as exc:
            if self.backend.is_transient(exc):
                return  # a concurrent resolve saved first: the next one saves again
            # Read-only database, no right to create tables...: compute in full from now on.
            self.disabled = True
            return
        self.cache[feature] = state


def _counts(rows: Any) -> dict[str, int]:
    found = {str(status): int(n) for status, n in rows}
    return {s: found.get(s, 0) for s in STATUSES}


class Incremental:
    """The incremental resolve and status of one feature, inside one transaction.

    ``given=True``: a root feature resolved for samples given in memory (:meth:`resolve_given`),
    whose states are kept apart from those of its ``status`` (:meth:`slot_of`).
    """

    def __init__(
        self,
        stmts: FeatureStatements,
        conn: sa.Connection,
        states: StateTable,
        *,
        given: bool = False,
    ) -> None:
        self.stmts = stmts
        self.conn = conn
        self.states = states
        self.backend = stmts.backend
        self.spec = stmts.spec
        self.feature = str(stmts.spec.key)
        self.is_root = not stmts.spec.deps
        self.slot = self.slot_of(stmts, given=given)
        self.tables = self._tables()
        self.full: sa.Select[Any] | None = None
        if given:
            # the statement as it runs, on a fixed name for the uploaded samples: the key
            self.full = increment_statement(stmts, given_samples(stmts, "__mx_given"))
        elif not self.is_root:
            self.full = increment_statement(stmts, stmts.expected())

    @staticmethod
    def slot_of(stmts: FeatureStatements, *, given: bool) -> str:
        """Where a feature's state is kept: its key, or for a root feature's resolve of given
        samples its key and ``#given`` (a ``status`` of the root keeps its own state)."""
        key = str(stmts.spec.key)
        return f"{key}#given" if given else key

    # -- what is read ----------------------------------------------------------------------

    @staticmethod
    def eligible(stmts: FeatureStatements) -> bool:
        """Whether the incremental path is provably exact for this feature (module docstring)."""
        if stmts.backend.fingerprint is None or stmts.expands:
            return False
        keys = set(stmts.expected_ids)
        for dep in stmts.spec.deps:
            parent = stmts.graph.get_feature(dep.feature).feature_spec()
            if not dep.lineage.is_identity or dep.filters or not keys <= set(parent.id_columns):
                return False
        return True

    def _tables(self) -> list[FingerprintedTable]:
        stmts = self.stmts
        ordering = [CREATED_AT, DATA_VERSION]
        own = [
            *self.spec.id_columns,
            *ordering,
            *stmts.provenance_columns,
            PROVENANCE,
            FEATURE_VERSION,
        ]
        tables = [FingerprintedTable(stmts.table, tuple(dict.fromkeys(own)))]
        for dep in self.spec.deps:
            parent = stmts.graph.get_feature(dep.feature)
            spec = parent.feature_spec()
            columns = [
                *spec.id_columns,
                *ordering,
                *(data_version_column(k) for k in spec.field_keys),
                *dep.select,
            ]
            tables.append(FingerprintedTable(feature_table(parent), tuple(dict.fromkeys(columns))))
        return tables

    def key(self) -> str:
        """A digest of everything the answer depends on besides the rows."""
        parts: list[str] = [str(_FORMAT), self.backend.name, self.feature]
        parts += [f"{t.name}:{','.join(t.columns)}" for t in self.tables]
        if self.full is not None:
            compiled = self.full.compile(dialect=self.conn.dialect)
            parts.append(str(compiled))
            parts.append(repr(sorted((k, repr(v)) for k, v in compiled.params.items())))
        parts.append(",".join(self.spec.id_columns))
        return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()

    def read(self, state: State | None) -> Reading:
        marks = {} if state is None else {k: p.watermark for k, p in state.tables.items()}
        stmt = fingerprint_statement(self.backend, self.tables, marks)
        now: dict[str, TablePrint] = {}
        up_to: dict[str, tuple[int, int, int]] = {}
        with self.backend.fingerprint.scanning(self.conn):  # type: ignore[union-attr]
            rows = self.conn.execute(stmt).all()
        for row in rows:
            name = str(row.name)
            now[name] = TablePrint(int(row.rows), int(row.lo or 0), int(row.hi or 0), row.newest)
            up_to[name] = (int(row.rows_le or 0), int(row.lo_le or 0), int(row.hi_le or 0))
        return Reading(now, up_to)

    # -- helpers ---------------------------------------------------------------------------

    def _touched(self, state: State, reading: Reading) -> sa.Subquery:
        appended = reading.appended(state)
        sources = [
            (t.table, state.tables[t.name].watermark) for t in self.tables if appended[t.name]
        ]
        return touched_ids(self.stmts.expected_ids, sources)

    def _restricted_counts(self, touched: sa.Subquery, state: State | None) -> dict[str, int]:
        as_of = None if state is None else {k: p.watermark for k, p in state.tables.items()}
        restricted = RestrictedStatements(self.stmts, touched, as_of)
        stmt = increment_statement(restricted, restricted.expected())
        return _counts(self.conn.execute(status_counts(stmt)))

    def _worth_it(self, state: State, reading: Reading) -> bool:
        appended = sum(reading.appended(state).values())
        total = sum(p.rows for p in reading.now.values())
        return total < _SMALL or appended <= total * _APPENDED_SHARE

    def _save(
        self,
        key: str,
        reading: Reading,
        counts: dict[str, int] | None,
        samples: int | None,
        answer: pl.DataFrame | None = None,
        pending: str | None = None,
        given: str | None = None,
        kept: State | None = None,
    ) -> bool:
        """Store the state if the fingerprints did not move since ``reading``.

        ``answer``: the increment the state answers (its digests are kept, see :class:`State`);
        ``kept``: a state of the same answer whose digests still hold.
        """
        fingerprint = self.backend.fingerprint
        assert fingerprint is not None
        if not fingerprint.sees_one_snapshot(self.conn) and self.read(None).now != reading.now:
            return False
        expected = orphans = None
        if kept is not None:
            pending, expected, orphans = kept.pending, kept.expected, kept.orphans
            given = kept.given
        if answer is not None:
            pending, expected, orphans = self._digests(answer)
        state = State(key, reading.now, counts, samples, pending, expected, orphans, given)
        self.states.save(self.conn, self.slot, state)
        return True

    def _fetch(self, stmt: sa.Select[Any]) -> pl.DataFrame:
        return self.backend.fetch_frame(self.conn, stmt)

    def _covers_pending(self, state: State) -> bool:
        """Whether the feature's own rows written since the state are exactly for the samples
        that were out of sync then (the usual resolve, compute, write): all of those were then
        touched, without computing which were out of sync."""
        if state.pending is None:
            return False
        table, ids = self.stmts.table, list(self.spec.id_columns)
        watermark = state.tables[table.name].watermark
        written = sa.select(*(table.c[c] for c in ids)).distinct()
        if watermark is not None:
            written = written.where(table.c[CREATED_AT] > watermark)
        return _digest(self._fetch(written), ids) == state.pending

    def _touched_before(self, touched: sa.Subquery, state: State) -> dict[str, int]:
        """The counts of the touched samples when the state was stored."""
        assert state.counts is not None
        if state.in_sync:
            return {s: 0 for s in STATUSES}
        if self._covers_pending(state):
            return dict(state.counts)
        return self._restricted_counts(touched, state)

    def _own_samples(self, touched: sa.Subquery | None, state: State | None) -> sa.Select[Any]:
        table = self.stmts.table
        mark = None if state is None else state.tables[table.name].watermark
        return count_samples_statement(
            self.backend, table, self.spec.id_columns, touched, mark, as_of=state is not None
        )

    # -- resolve_update --------------------------------------------------------------------

    def resolve(self, *, verify: bool) -> pl.DataFrame:
        """The increment of a downstream feature (the frame ``increment_statement`` returns)."""
        assert self.full is not None
        self.backend.fingerprint.prepare(self.conn)  # type: ignore[union-attr]
        key = self.key()
        state = None if verify else self.states.load(self.conn, self.slot, key)
        reading = self.read(state)
        if state is not None and reading.matches(state):
            appended = reading.appended(state)
            if not any(appended.values()) and state.in_sync:
                self._path("unchanged")
                return pl.DataFrame(schema=polars_schema(list(self.full.selected_columns)))
            if any(appended.values()) and self._worth_it(state, reading):
                answer = self._resolve_touched(key, state, reading)
                if answer is not None:
                    self._path("incremental")
                    return answer
        self._path("full")
        answer = self._fetch(self.full)
        self._save(key, reading, _frame_counts(answer), self._samples_if_empty(reading), answer)
        return answer

    def _samples_if_empty(self, reading: Reading) -> int | None:
        """The own table's sample count when the reading proves it without a query: none when
        it holds no row (a feature's first resolve), so that writes can carry it forward."""
        return 0 if reading.now[self.stmts.table.name].rows == 0 else None

    def _samples_kept(self, state: State, reading: Reading) -> int | None:
        """The state's sample count, still true when no own row was written since."""
        own_appended = reading.appended(state)[self.stmts.table.name]
        return state.samples if own_appended == 0 else self._samples_if_empty(reading)

    def _digests(self, answer: pl.DataFrame) -> tuple[str, str, str]:
        """``(pending, expected, orphans)`` digests of an increment (see :class:`State`)."""
        ids = list(self.spec.id_columns)
        orphaned = pl.col(STATUS) == "orphaned"
        pending, expected, orphans = _digests(
            answer,
            [(ids, None), ([*ids, *self.stmts.provenance_columns], ~orphaned), (ids, orphaned)],
        )
        return pending, expected, orphans

    def _resolve_touched(self, key: str, state: State, reading: Reading) -> pl.DataFrame | None:
        touched = self._touched(state, reading)
        if self._touched_before(touched, state) != state.counts:
            return None  # a sample out of sync then was not touched since: not kept, so full
        restricted = RestrictedStatements(self.stmts, touched)
        answer = self._fetch(increment_statement(restricted, restricted.expected()))
        samples = self._samples_kept(state, reading)
        if not self._save(key, reading, _frame_counts(answer), samples, answer):
            return None  # rows moved under the computation: it may have missed some
        return answer

    def resolve_given(
        self, samples: pl.DataFrame, compute: Callable[[], pl.DataFrame], *, verify: bool
    ) -> pl.DataFrame:
        """The increment of a root feature for ``samples`` (ids and per-field provenances).

        The samples are the user's, not the database's, so only one claim is kept: for
        samples with this digest, under these own rows, the increment had these counts. The
        same samples again (the usual no-op: a pipeline polling its sources), no row written
        since and nothing out of sync then: the answer is empty, without uploading or comparing
        the samples. Anything else runs ``compute`` (the full comparison); a write of its
        increment carries the state (:meth:`after_write`).
        """
        self.backend.fingerprint.prepare(self.conn)  # type: ignore[union-attr]
        key = self.key()
        given = _digest(samples, [*self.spec.id_columns, *self.stmts.provenance_columns])
        state = None if verify else self.states.load(self.conn, self.slot, key)
        reading = self.read(state)
        if (
            state is not None
            and state.given == given
            and state.in_sync
            and reading.matches(state)
            and not any(reading.appended(state).values())
        ):
            self._path("unchanged")
            assert self.full is not None
            return pl.DataFrame(schema=polars_schema(list(self.full.selected_columns)))
        self._path("full")
        answer = compute()
        count = self._samples_if_empty(reading)
        self._save(key, reading, _frame_counts(answer), count, answer, given=given)
        return answer

    # -- write -----------------------------------------------------------------------------

    def after_write(self, state: State, batch: pl.DataFrame) -> None:
        """Carry ``state`` (stored by ``resolve_update``) over a write of its increment.

        The usual cycle is resolve, compute, write what was asked. When ``batch`` (just inserted
        in this transaction) holds exactly the new and stale samples with their expected
        per-field provenances (the ``expected`` digest), each of them now has a latest row in
        sync, so the increment under the state's parent fingerprints and the own rows up to the
        batch is empty but for the orphans. That claim is stored with the own table's
        fingerprint moved forward by the batch's rows (their sums, read from the new rows
        alone), so the next resolve reads only what changed after this write, instead of
        verifying the whole write. Like every state, it is used only if the next reading
        confirms the rows up to each watermark; a row of another writer between the state and
        the batch is refused here (the count of rows after the old watermark differs).
        """
        table = self.stmts.table
        own = state.tables.get(table.name)
        if own is None or state.key != self.key():
            return
        written_at = batch[CREATED_AT].max()
        if not isinstance(written_at, datetime.datetime) or (
            own.watermark is not None and written_at <= _aware(own.watermark)
        ):
            return
        columns = [*self.spec.id_columns, *self.stmts.provenance_columns]
        if _digest(batch, columns) != state.expected:
            return
        fingerprint = self.backend.fingerprint
        assert fingerprint is not None
        fingerprint.prepare(self.conn)
        stmt = appended_print_statement(self.backend, self.tables[0], own.watermark)
        try:
            with fingerprint.guard(self.conn), fingerprint.scanning(self.conn):
                row = self.conn.execute(stmt).one()
        except sa.exc.SQLAlchemyError:
            return
        if int(row.rows) != batch.height:
            return  # rows of another writer since the state: not carried
        moved = TablePrint(
            own.rows + int(row.rows),
            own.lo + int(row.lo or 0),
            own.hi + int(row.hi or 0),
            row.newest,
        )
        assert state.counts is not None
        counts = {"new": 0, "stale": 0, "orphaned": state.counts["orphaned"]}
        nothing = _digest(batch.clear(), columns)
        # The batch's new samples had no row (the increment compares every latest row, of
        # any feature version) and its stale ones had: the count moves by the new ones.
        samples = None if state.samples is None else state.samples + state.counts["new"]
        carried = State(
            state.key,
            {**state.tables, table.name: moved},
            counts,
            samples,
            pending=state.orphans,
            expected=nothing,
            orphans=state.orphans,
            given=state.given,
        )
        self.states.save(self.conn, self.slot, carried)
        self._path("carried")

    # -- status ----------------------------------------------------------------------------

    def status(self, *, verify: bool) -> dict[str, int | None]:
        """``rows``, ``samples`` and (downstream) ``new``/``stale``/``orphaned``."""
        self.backend.fingerprint.prepare(self.conn)  # type: ignore[union-attr]
        key = self.key()
        state = None if verify else self.states.load(self.conn, self.slot, key)
        reading = self.read(state)
        rows = reading.now[self.stmts.table.name].rows
        if state is not None and reading.matches(state):
            appended = reading.appended(state)
            if not any(appended.values()):
                samples = state.samples
                if samples is None:
                    samples = int(self.conn.execute(self._own_samples(None, None)).scalar_one())
                    self._save(key, reading, state.counts, samples, kept=state)
                self._path("unchanged")
                return {"rows": rows, "samples": samples, **(state.counts or {})}
            if self._worth_it(state, reading):
                answer = self._status_touched(key, state, reading)
                if answer is not None:
                    self._path("incremental")
                    return {"rows": rows, **answer}
        self._path("full")
        expected = None if self.is_root else self.stmts.expected()
        found = {
            str(what): int(n)
            for what, n in self.conn.execute(status_counts_statement(self.stmts, expected))
        }
        counts = None if self.is_root else {s: found.get(s, 0) for s in STATUSES}
        samples = found.get("samples", 0)
        self._save(key, reading, counts, samples)
        return {"rows": found.get("rows", 0), "samples": samples, **(counts or {})}

    def _status_touched(
        self, key: str, state: State, reading: Reading
    ) -> dict[str, int | None] | None:
        touched = self._touched(state, reading)
        counts: dict[str, int] | None = None
        if state.counts is not None:
            before = self._touched_before(touched, state)
            after = self._restricted_counts(touched, None)
            counts = {s: state.counts[s] - before[s] + after[s] for s in STATUSES}
        if state.samples is None:
            samples = int(self.conn.execute(self._own_samples(None, None)).scalar_one())
        else:
            then = int(self.conn.execute(self._own_samples(touched, state)).scalar_one())
            now = int(self.conn.execute(self._own_samples(touched, None)).scalar_one())
            samples = state.samples - then + now
        if not self._save(key, reading, counts, samples):
            return None
        return {"samples": samples, **(counts or {})}

    def _path(self, path: str) -> None:
        self.states.last_path[self.feature] = path


def _digest(frame: pl.DataFrame, columns: list[str]) -> str:
    """A digest of the set of ``columns`` tuples of a frame whose rows are distinct on them
    (an increment, a batch, a ``SELECT DISTINCT``): the same set, the same digest.

    Order-free and sort-free: the count, and sums of the halves of a stable 64-bit hash
    (xxhash64, from polars-hash) of each tuple, like the tables' checksums. NULL is a value.
    """
    return _digests(frame, [(columns, None)])[0]


def _digests(frame: pl.DataFrame, wanted: list[tuple[list[str], pl.Expr | None]]) -> list[str]:
    """:func:`_digest` of several column lists (each over the rows its filter keeps, or all),
    in one lazy pass (the hashes run on every thread; a column list is hashed once)."""
    import polars_hash  # noqa: F401  (registers the `nchash` namespace)

    half = 4294967296
    hashes: dict[tuple[str, ...], pl.Expr] = {}
    sums: list[pl.Expr] = []
    for k, (columns, where) in enumerate(wanted):
        key = tuple(columns)
        if key not in hashes:
            parts = [pl.col(c).cast(pl.String).fill_null("\x00") for c in columns]
            text: Any = pl.concat_str(parts, separator="\x1f")
            hashes[key] = text.nchash.xxhash64().cast(pl.UInt64).alias(f"__mx_h{len(hashes)}")
        hashed = pl.col(str(hashes[key].meta.output_name()))
        if where is not None:
            hashed = hashed.filter(where)
        sums += [
            hashed.len().alias(f"rows{k}"),
            (hashed % half).sum().alias(f"lo{k}"),
            (hashed // half).sum().alias(f"hi{k}"),
        ]
    row = frame.lazy().with_columns(hashes.values()).select(sums).collect().row(0)
    return [f"{row[3 * k]}:{row[3 * k + 1]}:{row[3 * k + 2]}" for k in range(len(wanted))]


def _aware(value: datetime.datetime) -> datetime.datetime:
    """A write time as read back (naive on some engines: UTC) comparable with the batch's."""
    return value if value.tzinfo is not None else value.replace(tzinfo=datetime.UTC)


def _optional(value: Any) -> str | None:
    return None if value is None else str(value)


def _frame_counts(answer: pl.DataFrame) -> dict[str, int]:
    found = answer.group_by(STATUS).len()
    return _counts(found.iter_rows())
