"""One N-row write of the root feature, step by step: where ``store.write`` spends its time.

    python bench/write.py                                   # DuckDB file, 1M rows, best of 3
    python bench/write.py --backend postgresql --n 1000000 --repeat 3

Options: ``--backend`` duckdb (a file) | duckdb-memory | postgresql | sqlite (as in
bench/workflow.py), ``--n`` rows (default 1M), ``--repeat`` writes, each into a fresh database
(default 3; the best is reported, with its CPU seconds).

Steps, as ``store.write`` runs them: ``prepare`` (checks, casts, the provenance hash, the
system columns: Polars), ``insert`` (the backend's bulk load inside the transaction) and
``commit``; ``write`` is the whole ``store.write`` call, measured separately on the same data
(``resolve``, before them, makes the rows). Prints one JSON line: wall and CPU seconds of each
step, and the process's peak RSS after it.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from workflow import database, samples

import metaxy_orm as mx
from example_app.pipeline import define_video_pipeline
from metaxy_orm._sql.increment import changed_columns
from metaxy_orm.store.batch import BatchContext, prepare_batch
from metaxy_orm.write_time import write_time


class Clock:
    """Wall and CPU seconds (every thread of this process) of named steps."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    def __call__(self, name: str, fn: Any) -> Any:
        start, cpu = time.perf_counter(), time.process_time()
        value = fn()
        self.spent[name] = round(time.perf_counter() - start, 3)
        self.spent[f"{name}_cpu"] = round(time.process_time() - cpu, 3)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.spent[f"{name}_peak_rss_mb"] = round(peak, 1)
        return value


def one_write(backend: str, n: int) -> dict[str, float]:
    with mx.FeatureGraph():
        pipeline = define_video_pipeline()
        clock = Clock()
        with tempfile.TemporaryDirectory() as tmp, database(backend, Path(tmp)) as engine:
            mx.metadata_of().create_all(engine)  # the run's own graph and tables
            store = mx.MetadataStore(engine)
            rows = clock("resolve", lambda: store.resolve_update(pipeline.video, samples(n)).new)
            stmts = store._statements(pipeline.video)
            ctx = BatchContext(
                spec=stmts.spec,
                table=stmts.table,
                settings=store.settings,
                feature_version=stmts.feature_version,
                snapshot_version=stmts.snapshot_version,
                droppable={*stmts.selected_columns(), *changed_columns(stmts)},
                backend=store.backend,
            )
            batch = clock(
                "prepare",
                lambda: prepare_batch(rows, ctx, materialization_id=None, now=write_time()),
            )
            transaction = store._db.begin()
            conn = transaction.__enter__()
            clock("insert", lambda: store.backend.bulk_insert(conn, stmts.table, batch))
            clock("commit", lambda: transaction.__exit__(None, None, None))
            clock("write", lambda: store.write(pipeline.video, rows))
            store.close()
    return clock.spent


def main() -> int:
    parser = argparse.ArgumentParser(description="one write, step by step")
    parser.add_argument(
        "--backend", choices=["duckdb", "duckdb-memory", "postgresql", "sqlite"], default="duckdb"
    )
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = [one_write(args.backend, args.n) for _ in range(args.repeat)]
    best = min(runs, key=lambda r: r["write"])
    print(json.dumps({"backend": args.backend, "n": args.n, "runs": args.repeat, **best}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
