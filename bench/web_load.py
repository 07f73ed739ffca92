"""Load check of the example web backend: N concurrent workers posting results for a while.

    python bench/web_load.py [--clients 8] [--seconds 60] [--samples 20000] [--batch 20]
        [--database postgresql+psycopg://postgres@127.0.0.1:5432/test]

Starts the app with uvicorn on a free loopback port (one process; PostgreSQL in a schema of its
own, dropped at the end), ingests ``--samples`` videos, then runs ``--clients`` threads, each
taking pages of pending ``crop`` work (its own slice of sample ids) and posting results, for
``--seconds``. At the end it compares what the clients were told was written with what the
database holds, and counts HTTP 5xx answers. Not a test: figures go in the engineer's notes.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from example_app.demo import video_samples  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--database", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()

    schema = f"web_load_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.database, poolclass=sa.NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = sa.make_url(args.database).update_query_dict({"options": f"-csearch_path={schema}"})
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "METAXY_ORM_DATABASE_URL": url.render_as_string(hide_password=False),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "example_app.web", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/api/status").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        http = httpx.Client(base_url=base, timeout=120)
        rows = video_samples(args.samples).to_dicts()
        for start in range(0, len(rows), 5000):
            http.post("/api/features/video/samples", json=rows[start : start + 5000])

        codes: Counter[int] = Counter()
        acknowledged = Counter[str]()
        lock = threading.Lock()
        deadline = time.monotonic() + args.seconds

        def client(index: int) -> None:
            local = httpx.Client(base_url=base, timeout=120)
            offset = 0
            while time.monotonic() < deadline:
                page = local.get(
                    "/api/features/crop/pending", params={"limit": 500, "offset": offset}
                )
                with lock:
                    codes[page.status_code] += 1
                if page.status_code != 200:
                    continue
                items = [
                    i
                    for i in page.json()["items"]
                    if int(i["ids"]["sample_uid"][-5:]) % args.clients == index
                ][: args.batch]
                if not items:
                    offset = 0 if offset else offset + 500
                    if not page.json()["items"]:
                        return
                    continue
                body = [
                    {
                        **i["ids"],
                        "path": f"s3://crops/{i['ids']['sample_uid']}.mp4",
                        **{f"metaxy_provenance__{k}": v for k, v in i["provenance"].items()},
                    }
                    for i in items
                ]
                answer = local.post("/api/features/crop/results", json=body)
                with lock:
                    codes[answer.status_code] += 1
                    if answer.status_code == 200:
                        for row in body:
                            acknowledged[row["sample_uid"]] += 1

        started = time.monotonic()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started

        engine = sa.create_engine(url)
        with engine.connect() as conn:
            stored = Counter(
                dict(conn.exec_driver_sql("SELECT sample_uid, count(*) FROM crop GROUP BY 1").all())
            )
        engine.dispose()
        lost = sum(max(0, n - stored.get(uid, 0)) for uid, n in acknowledged.items())
        extra = sum(max(0, n - acknowledged.get(uid, 0)) for uid, n in stored.items())
        status = {s["feature"]: s for s in http.get("/api/status").json()}["crop"]
        posted = sum(acknowledged.values())
        print(f"clients {args.clients}, {elapsed:.1f} s, backend {url.get_backend_name()}")
        print(f"requests by status: {dict(sorted(codes.items()))}")
        print(
            f"rows acknowledged {posted} ({posted / elapsed:.0f}/s), stored {sum(stored.values())}"
        )
        print(f"rows lost {lost}, rows stored but never acknowledged {extra}")
        print(f"5xx answers {sum(n for c, n in codes.items() if c >= 500)}")
        print(f"crop status: {status}")
        return 0 if lost == 0 and not any(c >= 500 for c in codes) else 1
    finally:
        server.terminate()
        server.communicate(timeout=30)
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
