"""The reference's published workload: resolve_update of a leaf feature, DuckDB file.

    python bench/published.py                          # simple and wide, N = 10k, 100k, 1M
    python bench/published.py --n 1000000 --graph wide --repeat 3
    python bench/published.py --n 10000000 --repeat 1  # 10M: a few minutes per round

Options: ``--graph`` simple | wide | both (default both); ``--n`` samples (repeatable; default
10k, 100k, 1M); ``--repeat`` rounds per case (default 3; the median is reported);
``--url`` another database (default: a fresh DuckDB file per round).

Graphs (default field deps, i.e. each leaf field reads every field of every root):

- ``simple``: a root with fields ``audio`` and ``frames`` -> a leaf with one field;
- ``wide``: two roots with fields ``audio``, ``frames``, ``optical_flow``, ``embedding`` ->
  a leaf with two fields reading both.

Cases, each in a fresh database per round (the roots written first, not timed):

- ``new``: ``resolve_update(leaf)`` while the leaf is empty (every sample new);
- ``stale``: the leaf written, then 10% of the root rows get a new ``audio`` provenance;
  ``resolve_update(leaf)`` (10% stale).
- ``hash``: the baseline, what the database needs just to hash N rows: ``md5`` of the root's
  per-field provenance columns joined, aggregated so that nothing travels
  (``SELECT max(md5(...)) FROM root``; for ``wide``, one such pass per root).

Prints one JSON line per (graph, N) with the medians (wall seconds, and ``*_cpu``: CPU seconds
of every thread of the process, steadier on a shared machine), and a table with ``new / hash``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import metaxy_orm as mx

ROOT_FIELDS = {
    "simple": ["audio", "frames"],
    "wide": ["audio", "frames", "optical_flow", "embedding"],
}


def define(graph: str) -> tuple[list[type[mx.Feature]], type[mx.Feature]]:
    """The roots and the leaf of a graph, in the active (fresh, isolated) feature graph."""
    fields = ROOT_FIELDS[graph]
    roots: list[type[mx.Feature]] = []
    for name in ["root"] if graph == "simple" else ["root_a", "root_b"]:
        spec = mx.FeatureSpec(key=name, id_columns=["sample_uid"], fields=fields)
        roots.append(
            type(
                name, (mx.Feature,), {"__annotations__": {"sample_uid": str}}, table=True, spec=spec
            )
        )
    leaf_fields = ["result"] if graph == "simple" else ["result_a", "result_b"]
    leaf_spec = mx.FeatureSpec(
        key="leaf",
        id_columns=["sample_uid"],
        deps=[mx.FeatureDep(feature=r) for r in roots],
        fields=leaf_fields,
    )
    leaf = type(
        "leaf", (mx.Feature,), {"__annotations__": {"sample_uid": str}}, table=True, spec=leaf_spec
    )
    return roots, leaf


def root_rows(n: int, fields: list[str], salt: str, changed: bool = False) -> pl.DataFrame:
    """N root samples; with ``changed``, every tenth gets another audio provenance."""
    i = pl.int_range(0, n, eager=True)
    frame = pl.DataFrame({"i": i})
    columns = [pl.format("s{}", pl.col("i")).alias("sample_uid")]
    for field in fields:
        mark = (pl.col("i") % 10 == 0) if changed and field == "audio" else pl.lit(False)
        columns.append(
            pl.format(f"{salt}{field[0]}{{}}-{{}}", pl.col("i"), mark.cast(pl.String)).alias(
                f"metaxy_provenance__{field}"
            )
        )
    return frame.select(columns)


def timed(fn: Callable[[], Any], cpu: dict[str, float] | None = None, key: str = "") -> float:
    """Wall seconds of ``fn``; its CPU seconds (every thread of this process) into ``cpu``."""
    start, start_cpu = time.perf_counter(), time.process_time()
    fn()
    if cpu is not None:
        cpu[key] = cpu.get(key, 0.0) + time.process_time() - start_cpu
    return time.perf_counter() - start


def one_round(graph: str, n: int, url: str | None) -> dict[str, float]:
    with mx.FeatureGraph():
        return measure(graph, n, url, *define(graph))


def measure(
    graph: str, n: int, url: str | None, roots: list[type[mx.Feature]], leaf: type[mx.Feature]
) -> dict[str, float]:
    fields = ROOT_FIELDS[graph]
    with tempfile.TemporaryDirectory() as tmp:
        engine = sa.create_engine(url or f"duckdb:///{Path(tmp) / 'published.duckdb'}")
        mx.metadata_of().create_all(engine)  # the round's own graph and tables
        with mx.MetadataStore(engine) as store:
            for k, root in enumerate(roots):
                store.write(root, root_rows(n, fields, salt=str(k)))
            hash_s, cpu = 0.0, dict[str, float]()
            with engine.connect() as conn:
                for root in roots:
                    table = root.__table__  # type: ignore[attr-defined]
                    parts = [
                        table.c.sample_uid,
                        *(table.c[f"metaxy_provenance__{f}"] for f in fields),
                    ]
                    joined = sa.func.concat_ws("|", *parts)
                    query = sa.select(sa.func.max(sa.func.md5(joined)))
                    hash_s += timed(lambda q=query: conn.execute(q).scalar_one(), cpu, "hash_cpu")
            new_s = timed(lambda: store.resolve_update(leaf), cpu, "new_cpu")
            inc = store.resolve_update(leaf)
            assert inc.new.height == n, inc
            store.write(leaf, inc.to_compute)
            for k, root in enumerate(roots):
                changed = store.resolve_update(root, root_rows(n, fields, str(k), changed=True))
                assert changed.stale.height == (n + 9) // 10
                store.write(root, changed.stale)
            stale_s = timed(lambda: store.resolve_update(leaf), cpu, "stale_cpu")
            assert store.resolve_update(leaf).stale.height == (n + 9) // 10
        engine.dispose()
    return {"new": new_s, "stale": stale_s, "hash": hash_s, **cpu}


def main() -> int:
    parser = argparse.ArgumentParser(description="the reference's published workload")
    parser.add_argument("--graph", choices=["simple", "wide", "both"], default="both")
    parser.add_argument("--n", type=int, action="append", help="samples (repeatable)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per case (median)")
    parser.add_argument("--url", default=None, help="database URL (default: a DuckDB file)")
    args = parser.parse_args()
    graphs = ["simple", "wide"] if args.graph == "both" else [args.graph]
    sizes = args.n or [10_000, 100_000, 1_000_000]
    rows = []
    for graph in graphs:
        for n in sizes:
            rounds = [one_round(graph, n, args.url) for _ in range(args.repeat)]
            medians = {k: round(statistics.median(r[k] for r in rounds), 3) for k in rounds[0]}
            row = {"graph": graph, "n": n, "rounds": args.repeat, **medians}
            row["new_over_hash"] = round(medians["new"] / medians["hash"], 2)
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(f"\n{'graph':<8}{'N':>10}{'new s':>9}{'stale s':>9}{'hash s':>9}{'new/hash':>9}")
    for r in rows:
        print(
            f"{r['graph']:<8}{r['n']:>10}{r['new']:>9}{r['stale']:>9}{r['hash']:>9}"
            f"{r['new_over_hash']:>9}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
