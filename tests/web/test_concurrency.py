"""Several requests writing and resolving at once, as a web app on PostgreSQL meets them."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

import metaxy_orm as mx
from example_app.pipeline import define_video_pipeline
from example_app.web import create_app
from tests.web.conftest import results_for, samples

N = 60
WORKERS = 6


@pytest.fixture
def pg_client(database_url: str, graph: mx.FeatureGraph) -> Iterator[TestClient]:
    """The app on PostgreSQL (the server of the test suite), where several writers are normal."""
    define_video_pipeline()
    app = create_app(database_url, graph=graph)
    try:
        with TestClient(app) as client:
            yield client
    finally:
        app.state.metaxy.close()


@pytest.mark.only_backends("postgresql")
def test_concurrent_workers_lose_nothing(pg_client: TestClient) -> None:
    client = pg_client
    assert client.post("/api/features/video/samples", json=samples(N)).status_code == 200

    def worker(index: int) -> list[int]:
        codes = []
        # each worker takes its own slice of the pending work, and also resolves and reads
        page = client.get(
            "/api/features/crop/pending", params={"limit": N // WORKERS, "offset": 0}
        ).json()
        mine = [
            i
            for i in client.get("/api/features/crop/pending", params={"limit": N}).json()["items"]
            if int(i["ids"]["sample_uid"][-5:]) % WORKERS == index
        ]
        assert page["total"] >= len(mine)
        for item in mine:
            answer = client.post("/api/features/crop/results", json=results_for([item]))
            codes.append(answer.status_code)
            codes.append(client.get("/api/status").status_code)
        return codes

    with ThreadPoolExecutor(WORKERS) as pool:
        codes = [c for result in pool.map(worker, range(WORKERS)) for c in result]
    assert set(codes) == {200}
    status = {s["feature"]: s for s in client.get("/api/status").json()}
    assert (status["crop"]["rows"], status["crop"]["samples"], status["crop"]["new"]) == (N, N, 0)
    assert status["crop"]["in_sync"] is True
