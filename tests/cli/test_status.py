"""``mxo status``: counts from MetadataStore.status, JSON that round-trips, CI exit codes."""

from __future__ import annotations

import json

import sqlalchemy as sa

import metaxy_orm as mx
from example_app.pipeline import define_video_pipeline
from metaxy_orm.testing import isolated_graph

from .conftest import Mxo, fill


def store_status(database_url: str) -> list[mx.FeatureStatus]:
    with isolated_graph():
        define_video_pipeline()
        engine = sa.create_engine(database_url)
        with mx.MetadataStore(engine) as store:
            statuses = store.status()
        engine.dispose()
    return statuses


def test_in_sync_database_passes_the_gate(mxo: Mxo, database_url: str) -> None:
    fill(database_url, n=5)
    result = mxo("status", "--assert-in-sync")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["feature", "rows", "samples", "new", "stale", "orphaned", "state"]
    assert "root: needs its samples to tell" in lines[1]
    assert all(line.endswith("in sync") for line in lines[2:])


def test_out_of_sync_database_fails_the_gate(mxo: Mxo, database_url: str) -> None:
    fill(database_url, n=6, edited=frozenset({1, 4}))
    gated = mxo("status", "--assert-in-sync")
    assert gated.exit_code == 1
    assert "not in sync" in gated.stderr
    assert mxo("status").exit_code == 0  # without the gate it only reports
    crop = next(line for line in gated.stdout.splitlines() if line.startswith("crop"))
    assert crop.split()[1:6] == ["6", "6", "0", "2", "0"]
    assert crop.endswith("needs work: 2 stale")
    # face_detection reads only frames: the gate on it alone passes
    assert mxo("status", "face_detection", "--assert-in-sync").exit_code == 0
    assert mxo("status", "stt", "--assert-in-sync").exit_code == 1


def test_json_round_trips_to_the_store_answer(mxo: Mxo, database_url: str) -> None:
    fill(database_url, n=4, edited=frozenset({0}))
    result = mxo("status", "--json", "--assert-in-sync")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["in_sync"] is False
    parsed = [
        mx.FeatureStatus(**{k: v for k, v in f.items() if k != "in_sync"})
        for f in document["features"]
    ]
    assert parsed == store_status(database_url)
    assert [f["in_sync"] for f in document["features"]] == [None, False, True, False]


def test_root_without_samples_says_so(mxo: Mxo, database_url: str) -> None:
    fill(database_url, n=0)
    result = mxo("status", "video")
    assert result.exit_code == 0, result.output
    assert "root: no samples yet" in result.stdout


def test_missing_tables_give_a_clear_error(mxo: Mxo) -> None:
    result = mxo("status", "--json")
    assert result.exit_code == 3
    assert "mxo check" in result.stderr
    assert "Traceback" not in result.output
    assert json.loads(result.stdout)["error"]["exit_code"] == 3


def test_unknown_feature(mxo: Mxo) -> None:
    result = mxo("status", "nope")
    assert result.exit_code == 2
    assert "feature 'nope' is not in this graph" in result.stderr
