"""Property-based: schemathesis generates requests from the app's OpenAPI schema; no 500.

Bounded for CI (a few valid and a few invalid requests per operation), on embedded DuckDB
with some samples ingested, so that pending work, results and lookups meet real rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

import metaxy_orm as mx
from example_app.pipeline import define_video_pipeline
from example_app.web import create_app
from tests.web.conftest import compute_all, samples


@pytest.fixture
def seeded_app(tmp_path: Path, graph: mx.FeatureGraph) -> Iterator[FastAPI]:
    define_video_pipeline()
    app = create_app(f"duckdb:///{tmp_path / 'property.duckdb'}", graph=graph)
    with TestClient(app) as client:
        assert client.post("/api/features/video/samples", json=samples(5)).status_code == 200
        compute_all(client, "crop")
    yield app
    app.state.metaxy.close()


@pytest.mark.duckdb
def test_no_server_error(seeded_app: FastAPI) -> None:
    api = schemathesis.openapi.from_asgi("/openapi.json", seeded_app)
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 12  # every route of the API is exercised
    failures: list[str] = []
    modes = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
    for operation, mode in itertools.product(operations, modes):

        @given(case=operation.as_strategy(mode))
        @settings(
            max_examples=5,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            response = case.call()
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.text[:300]}")

        try:
            check()
        except Unsatisfiable:
            # no invalid request exists for an operation without parameters or body
            assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
    assert failures == []
