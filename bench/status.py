"""Benchmark of ``mxo status`` at N samples on DuckDB (not a test: speed is measured here).

    python bench/status.py --n 1000000 [--repeat 3]

Builds the video pipeline's database (bench/workflow.py's data: every feature computed, then
10% of the videos changed and only the root rewritten, so the downstream features have stale
samples), then times:

- ``store.status()``: the function behind ``mxo status`` (every feature), best of ``--repeat``;
- ``mxo status --json`` as a real process (interpreter start, imports, config, feature module,
  engine, the same queries), best of ``--repeat``.

Prints a table and one JSON line. Wall times on a shared machine vary with its load; the CPU
times (all threads of the process: DuckDB runs one per core) vary much less.
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
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from workflow import samples  # noqa: E402

import metaxy_orm as mx  # noqa: E402
from example_app.pipeline import define_video_pipeline  # noqa: E402


def build(url: str, n: int) -> dict[str, float]:
    """The database of the benchmark; returns how long each phase took."""
    pipeline = define_video_pipeline()
    engine = sa.create_engine(url)
    SQLModel.metadata.create_all(engine)
    spent: dict[str, float] = {}
    start = time.perf_counter()
    with mx.MetadataStore(engine) as store:
        store.write(pipeline.video, store.resolve_update(pipeline.video, samples(n)).new)
        for feature in pipeline[1:]:
            store.write(feature, store.resolve_update(feature).to_compute)
        spent["initial"] = time.perf_counter() - start
        changed = range(0, n, 10)
        audio = {i for k, i in enumerate(changed) if k % 2 == 0}
        frames = {i for k, i in enumerate(changed) if k % 2 == 1}
        inc = store.resolve_update(pipeline.video, samples(n, audio, frames))
        store.write(pipeline.video, inc.stale)
        spent["update_root"] = time.perf_counter() - start - spent["initial"]
    engine.dispose()
    return spent


def best(repeat: int, fn: Any, cpu: list[float] | None = None) -> tuple[float, Any]:
    """Best wall time of ``repeat`` runs; the CPU time of this process per run into ``cpu``."""
    times, value = [], None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        value = fn()
        times.append(time.perf_counter() - start)
        if cpu is not None:
            cpu.append(time.process_time() - start_cpu)
    return min(times), value


def main() -> int:
    parser = argparse.ArgumentParser(description="mxo status benchmark (DuckDB)")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"duckdb:///{Path(tmp) / 'status.duckdb'}"
        phases = build(url, args.n)
        graph = mx.FeatureGraph.get_active()
        engine = sa.create_engine(url)
        with mx.MetadataStore(engine) as store:
            status_cpu: list[float] = []
            in_process, statuses = best(args.repeat, lambda: store.status(graph=graph), status_cpu)
            per_feature = {
                str(f.feature_key()): round(best(1, lambda f=f: store.status(f))[0], 3)
                for f in graph
            }
        engine.dispose()
        command = [sys.executable, "-m", "metaxy_orm", "--database-url", url, "--module"]
        command += ["example_app.features", "status", "--json"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}

        cpu: list[float] = []

        def run_cli() -> dict[str, Any]:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            document: dict[str, Any] = json.loads(done.stdout)
            return document

        process, document = best(args.repeat, run_cli)
    assert [s.to_dict() for s in statuses] == document["features"]
    result = {
        "backend": "duckdb",
        "n": args.n,
        "store_status_s": round(in_process, 3),
        "store_status_cpu_s": round(min(status_cpu), 3),
        "per_feature_s": per_feature,
        "mxo_status_process_s": round(process, 3),
        "mxo_status_process_cpu_s": round(min(cpu), 3),
        "build_s": {k: round(v, 1) for k, v in phases.items()},
        "status": document["features"],
    }
    print(f"{'feature':<16}{'seconds':>8}")
    for key, seconds in per_feature.items():
        print(f"{key:<16}{seconds:>8}")
    print(
        f"store.status() every feature: {result['store_status_s']} s wall, "
        f"{result['store_status_cpu_s']} s CPU (best of {args.repeat})"
    )
    print(
        f"mxo status --json (process):  {result['mxo_status_process_s']} s wall, "
        f"{result['mxo_status_process_cpu_s']} s CPU"
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
