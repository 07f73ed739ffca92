"""Property: after any sequence of writes and edits, the incremental answer is the full one.

A Hypothesis state machine drives random sequences of root updates, partial writes (only part
of an increment written), deletes by raw SQL, rows inserted by raw SQL with an old write time
(a late commit), cleanup, reconcile, code-version bumps and two interleaved stores (each with
its own cached state), and checks after every step, for every downstream feature, that
``resolve_update`` and ``status`` equal their ``verify=True`` (full) computation, on every
backend.
"""

from __future__ import annotations

import contextlib
import datetime
from typing import Any

import polars as pl
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlmodel import SQLModel
from sqlmodel.main import default_registry

import metaxy_orm as mx
from example_app.pipeline import define_video_pipeline
from metaxy_orm._sql.fingerprints import state_table
from metaxy_orm.columns import CREATED_AT, DATA_VERSION, PROVENANCE

from .conftest import AUDIO, FRAMES, define_joined, sample_uid

#: Few, short runs: each step resolves every feature twice on a real database.
SETTINGS = settings(
    max_examples=5,
    stateful_step_count=8,
    deadline=None,
    database=None,
    derandomize=True,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=list(HealthCheck),
)

POOL = 8  # sample ids s000..s007
BUMPABLE = ("crop.audio", "crop.frames", "stt.transcription", "video.audio")


def define(code_versions: dict[str, str]) -> list[type[mx.Feature]]:
    """The video pipeline without face_detection (crop is its twin) and a feature with two
    parents, one optional, a selected and renamed column and its own code versions."""
    pipeline = define_video_pipeline(code_versions)
    crop, stt = pipeline.crop, pipeline.stt

    joined = define_joined(crop, stt, code_versions.get("joined", "1"))
    return [pipeline.video, crop, stt, joined]


class IncrementalMachine(RuleBasedStateMachine):
    def __init__(self, engine: sa.Engine) -> None:
        super().__init__()
        self.engine = engine
        self.versions: dict[str, str] = {}
        self.audio = {sample_uid(i): f"a{i}" for i in range(POOL // 2)}
        self.frames = dict.fromkeys(self.audio, "f0")
        self.late = 0
        self.graph = contextlib.ExitStack()
        self._define()
        self.metadata.drop_all(engine)
        with engine.begin() as conn:
            state_table(self.stores[0].backend).drop(conn, checkfirst=True)
        self.metadata.create_all(engine)

    def _define(self) -> None:
        self.graph.close()
        SQLModel.metadata.clear()
        default_registry.dispose()
        self.graph = contextlib.ExitStack()
        self.graph.enter_context(mx.FeatureGraph())
        self.features = define(self.versions)
        self.metadata = mx.metadata_of()  # the isolated graph's own tables
        # two stores: interleaved writers, each with its own cached state
        self.stores = [mx.MetadataStore(self.engine), mx.MetadataStore(self.engine)]

    def teardown(self) -> None:
        self.metadata.drop_all(self.engine)
        self.graph.close()
        SQLModel.metadata.clear()
        default_registry.dispose()

    def _samples(self) -> pl.DataFrame:
        ids = sorted(self.audio)
        return pl.DataFrame(
            {
                "sample_uid": ids,
                AUDIO: [self.audio[i] for i in ids],
                FRAMES: [self.frames[i] for i in ids],
            }
        )

    # -- rules -----------------------------------------------------------------------------

    @initialize()
    def populate(self) -> None:
        """Start from every feature computed: the answers in sync, the states in the table."""
        store = self.stores[0]
        store.write(self.features[0], self._samples())
        for target in self.features[1:]:
            store.write(target, store.resolve_update(target).to_compute)

    @rule(
        changed=st.lists(st.integers(0, POOL - 1), min_size=1, max_size=3),
        which=st.sampled_from(["audio", "frames"]),
        part=st.sampled_from([1.0, 0.5]),
        store=st.integers(0, 1),
    )
    def update_root(self, changed: list[int], which: str, part: float, store: int) -> None:
        values = self.audio if which == "audio" else self.frames
        for i in changed:
            uid = sample_uid(i)
            self.audio.setdefault(uid, "a0")
            self.frames.setdefault(uid, "f0")
            values[uid] = f"{values[uid]}+"
        inc = self.stores[store].resolve_update(self.features[0], self._samples())
        rows = pl.concat([inc.new, inc.stale.select(inc.new.columns)])
        self.stores[store].write(self.features[0], rows.head(int(rows.height * part + 0.5)))

    @rule(
        feature=st.integers(1, 3),
        part=st.sampled_from([1.0, 1.0, 0.5, 0.0]),
        store=st.integers(0, 1),
    )
    def compute(self, feature: int, part: float, store: int) -> None:
        """Resolve with one store and write (maybe part of) the answer with the other."""
        target = self.features[feature]
        todo = self.stores[store].resolve_update(target).to_compute
        self.stores[1 - store].write(target, todo.head(int(todo.height * part + 0.5)))

    @rule(feature=st.integers(1, 3), store=st.integers(0, 1))
    def compute_differently(self, feature: int, store: int) -> None:
        """Write the whole answer, one sample with a provenance other than the one asked for."""
        target = self.features[feature]
        todo = self.stores[store].resolve_update(target).to_compute
        if todo.is_empty():
            return
        column = next(c for c in todo.columns if c.startswith("metaxy_provenance__"))
        first = pl.int_range(pl.len()) == 0
        changed = todo.with_columns(
            pl.when(first).then(pl.lit("other")).otherwise(pl.col(column)).alias(column)
        ).drop(PROVENANCE)
        self.stores[store].write(target, changed)

    @rule(store=st.integers(0, 1))
    def compute_all(self, store: int) -> None:
        """Bring every feature in sync, upstream first (incremental states are then in sync)."""
        for target in self.features[1:]:
            todo = self.stores[store].resolve_update(target).to_compute
            self.stores[store].write(target, todo)

    @rule(feature=st.integers(0, 3), i=st.integers(0, POOL - 1))
    def raw_delete(self, feature: int, i: int) -> None:
        table: sa.Table = self.features[feature].__table__  # type: ignore[attr-defined]
        with self.engine.begin() as conn:
            conn.execute(sa.delete(table).where(table.c.sample_uid == sample_uid(i)))

    @rule(feature=st.integers(0, 3))
    def late_commit(self, feature: int) -> None:
        """A row of a new sample with a write time before any watermark, by raw SQL."""
        target = self.features[feature]
        latest = self.stores[0].read(target)
        if latest.is_empty():
            return
        self.late += 1
        row: dict[str, Any] = latest.row(0, named=True)
        row |= {
            "sample_uid": f"late{self.late}",
            CREATED_AT: datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC),
            DATA_VERSION: f"late{self.late}",
        }
        table: sa.Table = target.__table__  # type: ignore[attr-defined]
        with self.engine.begin() as conn:
            conn.execute(sa.insert(table).values(row))

    @rule(feature=st.integers(0, 3))
    def cleanup(self, feature: int) -> None:
        self.stores[0].cleanup(self.features[feature])

    @rule(feature=st.integers(1, 3))
    def reconcile(self, feature: int) -> None:
        self.stores[1].reconcile(self.features[feature], materialization_id="reconciled")

    @rule(field=st.sampled_from(BUMPABLE))
    def bump_code_version(self, field: str) -> None:
        self.versions[field] = str(int(self.versions.get(field, "1")) + 1)
        self._define()

    # -- the property ----------------------------------------------------------------------

    @invariant()
    def incremental_equals_full(self) -> None:
        root = self.features[0]
        inc = self.stores[1].resolve_update(root, self._samples())
        assert_same(root, inc, self.stores[0].resolve_update(root, self._samples(), verify=True))
        for k, feature in enumerate(self.features[1:]):
            # both incremental answers before any full one (which refreshes the state), each
            # from its store's own cached state (one may be older than the other)
            store, other = self.stores[k % 2], self.stores[1 - k % 2]
            status = store.status(feature)[0]
            inc = other.resolve_update(feature)
            assert_same(feature, inc, store.resolve_update(feature, verify=True))
            assert status == store.status(feature, verify=True)[0]


def assert_same(feature: type[mx.Feature], inc: mx.Increment, full: mx.Increment) -> None:
    """The incremental answer is the full one, frame by frame."""
    for part in ("new", "stale", "orphaned"):
        got, want = getattr(inc, part), getattr(full, part)
        assert got.equals(want), (feature.feature_key(), part, got, want)


def test_incremental_answers_equal_the_full_computation(engine: sa.Engine) -> None:
    run_state_machine_as_test(lambda: IncrementalMachine(engine), settings=SETTINGS)
