"""Fixtures of the web tests: the example app over a fresh database of each backend."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import metaxy_orm as mx
from example_app.demo import video_samples
from example_app.pipeline import VideoPipeline, define_video_pipeline
from example_app.web import create_app


@pytest.fixture
def pipeline(graph: mx.FeatureGraph) -> VideoPipeline:
    return define_video_pipeline()


@pytest.fixture
def app(database_url: str, graph: mx.FeatureGraph, pipeline: VideoPipeline) -> Iterator[FastAPI]:
    application = create_app(database_url, graph=graph)
    yield application
    application.state.metaxy.close()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def samples(n: int, audio_edits: frozenset[int] = frozenset()) -> list[dict[str, Any]]:
    """The demo's video samples as JSON rows."""
    return video_samples(n, audio_edits).to_dicts()


def results_for(items: list[dict[str, Any]], **columns: Any) -> list[dict[str, Any]]:
    """What a worker posts back for pending items: ids, provenance, its own columns."""
    return [
        {
            **item["ids"],
            **{f"metaxy_provenance__{k}": v for k, v in item["provenance"].items()},
            **columns,
        }
        for item in items
    ]


def compute_all(client: TestClient, feature: str) -> int:
    """Take every pending item of a feature and post results for it; return how many."""
    items = client.get(f"/api/features/{feature}/pending", params={"limit": 1000}).json()["items"]
    if items:
        response = client.post(f"/api/features/{feature}/results", json=results_for(items))
        assert response.status_code == 200, response.text
    return len(items)


def ids(frame: pl.DataFrame) -> list[str]:
    return sorted(frame["sample_uid"].to_list())
