"""``mxo lookup``: one sample across every feature, and why it is (not) up to date."""

from __future__ import annotations

import json

import sqlalchemy as sa

import metaxy_orm as mx
from example_app.pipeline import define_video_pipeline
from metaxy_orm.testing import isolated_graph

from .conftest import Mxo, fill, video_samples


def states(document: dict[str, object]) -> dict[str, str]:
    return {f["feature"]: f["state"] for f in document["features"]}  # type: ignore[attr-defined]


def test_stale_sample_names_the_fields(mxo: Mxo, database_url: str) -> None:
    fill(database_url, n=4, edited=frozenset({1}))
    result = mxo("lookup", "sample_uid=s1", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["sample"] == {"sample_uid": "s1"}
    assert states(document) == {
        "video": "stored",
        "crop": "stale",
        "face_detection": "up to date",
        "stt": "stale",
    }
    crop = document["features"][1]
    assert crop["fields"] == ["audio"]
    assert crop["row"]["sample_uid"] == "s1"
    assert crop["row"]["metaxy_feature_version"] == crop["code_feature_version"]
    text = mxo("lookup", "sample_uid=s1").stdout
    assert "crop  stale  inputs changed for field(s) audio" in text
    assert "stt  stale  inputs changed for field(s) transcription" in text


def test_up_to_date_sample(mxo: Mxo, database_url: str) -> None:
    fill(database_url, n=3, edited=frozenset({1}))
    document = json.loads(mxo("lookup", "sample_uid=s2", "--json").stdout)
    assert set(states(document).values()) == {"stored", "up to date"}


def test_new_orphaned_and_absent(mxo: Mxo, database_url: str) -> None:
    fill(database_url, n=2)
    with isolated_graph():
        pipeline = define_video_pipeline()
        engine = sa.create_engine(database_url)
        with mx.MetadataStore(engine) as store:
            # s9 ingested but never computed downstream
            new = store.resolve_update(pipeline.video, video_samples(10)).new
            store.write(pipeline.video, new.filter(new["sample_uid"] == "s9"))
            # crop holds a sample its upstream never had
            orphan = {
                "sample_uid": "x",
                "metaxy_provenance__audio": "a",
                "metaxy_provenance__frames": "f",
            }
            store.write(pipeline.crop, [orphan])
        engine.dispose()
    assert states(json.loads(mxo("lookup", "sample_uid=s9", "--json").stdout)) == {
        "video": "stored",
        "crop": "new",
        "face_detection": "not expected",
        "stt": "new",
    }
    assert states(json.loads(mxo("lookup", "sample_uid=x", "--json").stdout)) == {
        "video": "absent",
        "crop": "orphaned",
        "face_detection": "new",  # crop holds it, so face_detection expects it
        "stt": "not expected",
    }


def test_bad_arguments(mxo: Mxo, database_url: str) -> None:
    fill(database_url, n=1)
    assert mxo("lookup", "s1").exit_code == 2
    unknown = mxo("lookup", "video_id=3")
    assert unknown.exit_code == 2
    assert "no feature has id column(s) ['video_id']" in unknown.stderr
