"""Benchmark of the main workflow, at N samples, on one backend (one process per run).

    python bench/workflow.py --backend duckdb --n 100000
    python bench/workflow.py --backend duckdb --n 1000000 --steps   # every step's seconds
    python bench/workflow.py --all                # the whole matrix, each run in its own process
    python bench/workflow.py --all --max-n 1000000                  # the matrix up to 1M

Options: ``--backend`` (duckdb: a database file; duckdb-memory; postgresql: a fresh schema on
``$METAXY_ORM_POSTGRES_URL``; sqlite: a file; clickhouse: chDB on disk), ``--n`` samples,
``--all`` the matrix (``MATRIX``), ``--max-n`` with ``--all``: skip larger N, ``--steps`` print
every step, ``--changes K``: the update changes K videos instead of 10% of them (the same K at
every N shows what grows with the changes and what with N).

Phases (seconds each), on the video pipeline (video -> crop -> face_detection, video -> stt):

- ``initial``: resolve and write every feature, upstream first (``initial_resolve`` and
  ``initial_write`` split it; ``initial_write_1`` is the slowest single 1M-row write);
- ``update``: 10% of the videos (or ``--changes`` of them) change (half audio only, half frames
  only), resolved and written through the graph (``update_resolve``, ``update_write``);
- ``noop``: a resolve of every feature with nothing to do (``noop_max``: the slowest one);
- ``status``: ``store.status()`` of every feature, after the no-op resolves.

Prints a table and one JSON line per run, with the process's peak RSS and CPU time (every
thread of the process: DuckDB runs one per core; PostgreSQL's own CPU is not in it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
import sqlalchemy as sa
from sqlmodel import SQLModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import metaxy_orm as mx
from example_app.pipeline import VideoPipeline, define_video_pipeline

T = TypeVar("T")
POSTGRES_URL = os.environ.get(
    "METAXY_ORM_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MATRIX = [
    ("duckdb", [10_000, 100_000, 1_000_000, 10_000_000]),
    ("duckdb-memory", [1_000_000]),
    ("postgresql", [10_000, 100_000, 1_000_000]),
    ("sqlite", [10_000, 100_000, 1_000_000]),
]


def samples(n: int, audio: set[int] | None = None, frames: set[int] | None = None) -> pl.DataFrame:
    """Root samples, built vectorised; edited ids get another checksum for that track."""
    idx = pl.int_range(0, n, eager=True)
    frame = pl.DataFrame({"i": idx})
    audio_mark = pl.col("i").is_in(sorted(audio or ())).cast(pl.String)
    frames_mark = pl.col("i").is_in(sorted(frames or ())).cast(pl.String)
    return frame.select(
        pl.format("s{}", pl.col("i")).alias("sample_uid"),
        pl.format("a{}-{}", pl.col("i"), audio_mark).alias("metaxy_provenance__audio"),
        pl.format("f{}-{}", pl.col("i"), frames_mark).alias("metaxy_provenance__frames"),
    )


@contextmanager
def database(backend: str, workdir: Path) -> Iterator[sa.Engine]:
    if backend == "duckdb-memory":
        engine = sa.create_engine("duckdb:///:memory:")
        yield engine
        engine.dispose()
    elif backend == "duckdb":
        engine = sa.create_engine(f"duckdb:///{workdir / 'bench.duckdb'}")
        yield engine
        engine.dispose()
    elif backend == "sqlite":
        engine = sa.create_engine(f"sqlite:///{workdir / 'bench.sqlite'}")
        yield engine
        engine.dispose()
    elif backend == "clickhouse":  # chDB (ClickHouse in-process), on disk
        engine = sa.create_engine(f"clickhousedb:///default?interface=chdb&path={workdir / 'ch'}")
        yield engine
        engine.dispose()
    else:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        url = sa.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        engine = sa.create_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()
            with admin.begin() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
            admin.dispose()


#: Peak RSS (MB) of the process after each step: where the peak was reached.
PEAKS: dict[str, float] = {}


def timed(results: dict[str, float], name: str, fn: Callable[[], T]) -> T:
    start = time.perf_counter()
    value = fn()
    results[name] = round(time.perf_counter() - start, 4)
    PEAKS[name] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return value


def propagate(
    store: mx.MetadataStore, p: VideoPipeline, results: dict[str, float], step: str
) -> None:
    for feature in p[1:]:
        key = feature.feature_key().to_string()
        inc = timed(results, f"{step}.resolve.{key}", lambda f=feature: store.resolve_update(f))
        todo = inc.to_compute
        timed(results, f"{step}.write.{key}", lambda f=feature, t=todo: store.write(f, t))
        del inc, todo


def run(backend: str, n: int, changes: int | None = None) -> dict[str, Any]:
    pipeline = define_video_pipeline()
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, database(backend, Path(tmp)) as engine:
        SQLModel.metadata.create_all(engine)
        store = mx.MetadataStore(engine)
        start = time.perf_counter()

        initial = samples(n)
        inc = timed(
            results,
            "initial.resolve.video",
            lambda s=initial: store.resolve_update(pipeline.video, s),
        )
        timed(results, "initial.write.video", lambda i=inc: store.write(pipeline.video, i.new))
        # a pipeline drops what it has written: the frames are not the store's memory
        del initial, inc
        propagate(store, pipeline, results, "initial")

        # 10% of the videos (or ``changes`` of them, spread evenly): half audio only, half
        # frames only
        step = 10 if changes is None else max(1, n // changes)
        changed = range(0, n, step)[: changes if changes is not None else None]
        audio = {i for k, i in enumerate(changed) if k % 2 == 0}
        frames = {i for k, i in enumerate(changed) if k % 2 == 1}
        updated = samples(n, audio, frames)
        inc = timed(
            results, "update.resolve.video", lambda: store.resolve_update(pipeline.video, updated)
        )
        timed(results, "update.write.video", lambda i=inc: store.write(pipeline.video, i.stale))
        del inc
        propagate(store, pipeline, results, "update")

        inc = timed(
            results, "noop.resolve.video", lambda: store.resolve_update(pipeline.video, updated)
        )
        assert inc.is_empty()
        for feature in pipeline[1:]:
            key = feature.feature_key().to_string()
            inc = timed(results, f"noop.resolve.{key}", lambda f=feature: store.resolve_update(f))
            assert inc.is_empty(), (key, inc)
        statuses = timed(results, "status.all", store.status)
        assert all(s.new in (0, None) and s.stale in (0, None) for s in statuses), statuses
        total = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "backend": backend,
        "n": n,
        "changed": len(changed),
        "total_s": round(total, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "phases": summarise(results),
        "steps": results,
        "peak_rss_after_mb": dict(PEAKS),
    }


def summarise(steps: dict[str, float]) -> dict[str, float]:
    """The phases of a run from its steps (seconds)."""

    def total(prefix: str) -> float:
        return round(sum(v for k, v in steps.items() if k.startswith(prefix)), 3)

    def slowest(prefix: str) -> float:
        return round(max(v for k, v in steps.items() if k.startswith(prefix)), 3)

    return {
        "initial": total("initial."),
        "initial_resolve": total("initial.resolve."),
        "initial_write": total("initial.write."),
        "initial_write_1": slowest("initial.write."),
        "update": total("update."),
        "update_resolve": total("update.resolve."),
        "update_write": total("update.write."),
        "noop": total("noop."),
        "noop_max": slowest("noop."),
        "status": total("status."),
    }


COLUMNS = [
    ("total", "total_s", None),
    ("init.res", "phases", "initial_resolve"),
    ("init.wr", "phases", "initial_write"),
    ("wr max", "phases", "initial_write_1"),
    ("upd.res", "phases", "update_resolve"),
    ("upd.wr", "phases", "update_write"),
    ("noop", "phases", "noop"),
    ("noop max", "phases", "noop_max"),
    ("status", "phases", "status"),
    ("CPU s", "cpu_s", None),
    ("RSS MB", "peak_rss_mb", None),
]


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'backend':<14}{'N':>10}" + "".join(f"{title:>9}" for title, _, _ in COLUMNS))
    for r in rows:
        cells = [r[key] if sub is None else r[key][sub] for _, key, sub in COLUMNS]
        print(f"{r['backend']:<14}{r['n']:>10}" + "".join(f"{c:>9}" for c in cells))


def main() -> int:
    parser = argparse.ArgumentParser(description="metaxy-orm workflow benchmark")
    parser.add_argument(
        "--backend",
        choices=["duckdb", "duckdb-memory", "postgresql", "sqlite", "clickhouse"],
        default="duckdb",
        help="duckdb is a database file; duckdb-memory an in-memory database",
    )
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--all", action="store_true", help="run the whole matrix")
    parser.add_argument("--max-n", type=int, default=None, help="with --all: skip larger N")
    parser.add_argument("--steps", action="store_true", help="print every step's seconds")
    parser.add_argument(
        "--changes", type=int, default=None, help="videos changed by the update (default: 10%%)"
    )
    args = parser.parse_args()
    if not args.all:
        result = run(args.backend, args.n, args.changes)
        if args.steps:
            for k, v in result["steps"].items():
                print(f"  {k:<36}{v:>8}")
        print_table([result])
        print(json.dumps(result))
        return 0
    rows = []
    for backend, sizes in MATRIX:
        for n in sizes:
            if args.max_n and n > args.max_n:
                continue
            command = [sys.executable, __file__, "--backend", backend, "--n", str(n)]
            if args.changes is not None:
                command += ["--changes", str(args.changes)]
            out = subprocess.run(
                command,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)
    print()
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
