"""The example app's JSON API on every backend: it answers what the library answers."""

from __future__ import annotations

import polars as pl
import pytest
from fastapi.testclient import TestClient

import metaxy_orm as mx
from example_app.pipeline import VideoPipeline, define_video_pipeline
from example_app.web import create_app
from metaxy_orm.testing import isolated_graph
from tests.web.conftest import compute_all, ids, results_for, samples

N = 12
DOWNSTREAM = ("crop", "face_detection", "stt")


@pytest.fixture
def store(client: TestClient) -> mx.MetadataStore:
    app_store: mx.MetadataStore = client.app.state.metaxy.store  # type: ignore[attr-defined]
    return app_store


def ingest(client: TestClient, rows: list[dict[str, object]], mode: str = "merge") -> dict:
    response = client.post("/api/features/video/samples", json=rows, params={"mode": mode})
    assert response.status_code == 200, response.text
    return response.json()


def test_ingest_pending_results_status(
    client: TestClient, store: mx.MetadataStore, pipeline: VideoPipeline
) -> None:
    answer = ingest(client, samples(N))
    assert (answer["new"], answer["stale"], answer["orphaned"], answer["written"]) == (N, 0, 0, N)
    assert ids(store.read(pipeline.video)) == sorted(r["sample_uid"] for r in samples(N))

    # pending work is the library's increment, every field to compute for a new sample
    pending = client.get("/api/features/crop/pending", params={"limit": 1000}).json()
    library = store.resolve_update(pipeline.crop)
    assert pending["total"] == library.new.height == N
    assert [i["ids"]["sample_uid"] for i in pending["items"]] == ids(library.new)
    assert all(i["status"] == "new" for i in pending["items"])
    assert all(i["changed_fields"] == ["audio", "frames"] for i in pending["items"])
    by_id = {i["ids"]["sample_uid"]: i for i in pending["items"]}
    for row in library.new.iter_rows(named=True):
        item = by_id[row["sample_uid"]]
        assert item["provenance"] == {
            "audio": row["metaxy_provenance__audio"],
            "frames": row["metaxy_provenance__frames"],
        }

    for feature in DOWNSTREAM:
        assert compute_all(client, feature) == N
    status = {s["feature"]: s for s in client.get("/api/status").json()}
    for s in store.status(graph=pipeline.video.feature_graph()):
        assert {k: status[s.feature][k] for k in s.to_dict()} == s.to_dict()
    assert [status[f]["state"] for f in DOWNSTREAM] == ["in_sync"] * 3
    assert status["video"]["state"] == "root"


def test_audio_change_flags_only_the_audio(client: TestClient, store: mx.MetadataStore) -> None:
    ingest(client, samples(N))
    for feature in DOWNSTREAM:
        compute_all(client, feature)
    edited = frozenset({1, 4})
    changed = [r for i, r in enumerate(samples(N, edited)) if i in edited]
    answer = ingest(client, changed)  # merge: only these two, nobody orphaned
    assert (answer["new"], answer["stale"], answer["orphaned"]) == (0, 2, 0)

    crop = client.get("/api/features/crop/pending").json()
    assert [i["ids"]["sample_uid"] for i in crop["items"]] == ["video-00001", "video-00004"]
    assert all(i["status"] == "stale" and i["changed_fields"] == ["audio"] for i in crop["items"])
    stt = client.get("/api/features/stt/pending").json()
    assert [i["changed_fields"] for i in stt["items"]] == [["transcription"]] * 2
    assert client.get("/api/features/face_detection/pending").json()["total"] == 0
    status = {s["feature"]: s for s in client.get("/api/status").json()}
    assert (status["crop"]["stale"], status["stt"]["stale"]) == (2, 2)
    assert status["face_detection"]["stale"] == 0
    assert status["crop"]["state"] == "stale"


def test_merge_and_replace_modes(client: TestClient, store: mx.MetadataStore) -> None:
    ingest(client, samples(N))
    one = samples(N, frozenset({3}))[3:4]
    # replace: the batch is the whole list, as resolve_update(samples=...) takes it
    library = store.resolve_update(client.app.state.metaxy.feature("video"), samples=one)  # type: ignore[attr-defined]
    replace = ingest(client, one, mode="replace")
    assert (replace["stale"], replace["orphaned"]) == (1, library.orphaned.height) == (1, N - 1)
    # merge: the same sample again is up to date, and nobody is orphaned
    merge = ingest(client, one)
    assert (merge["new"], merge["stale"], merge["orphaned"], merge["written"]) == (0, 0, 0, 0)


def test_pages_cover_every_sample_once(client: TestClient) -> None:
    ingest(client, samples(N))
    seen: list[str] = []
    for offset in range(0, N, 5):
        page = client.get("/api/features/stt/pending", params={"limit": 5, "offset": offset})
        body = page.json()
        assert body["total"] == N
        seen += [i["ids"]["sample_uid"] for i in body["items"]]
    assert seen == sorted(r["sample_uid"] for r in samples(N))


def test_rows_hide_system_columns_unless_asked(
    client: TestClient, store: mx.MetadataStore, pipeline: VideoPipeline
) -> None:
    ingest(client, samples(N))
    compute_all(client, "crop")
    plain = client.get("/api/features/crop/rows", params={"limit": 3}).json()
    assert plain["total"] == N
    assert [set(i) for i in plain["items"]] == [{"sample_uid", "path", "system"}] * 3
    assert all(i["system"] is None for i in plain["items"])
    full = client.get("/api/features/crop/rows", params={"limit": N, "system": True}).json()
    stored = store.read(pipeline.crop)
    assert [i["system"]["metaxy_data_version"] for i in full["items"]] == stored[
        "metaxy_data_version"
    ].to_list()


def test_lookup_one_sample_across_features(client: TestClient) -> None:
    ingest(client, samples(3))
    compute_all(client, "stt")
    found = client.get("/api/samples", params={"sample_uid": "video-00002"}).json()
    assert found["video"]["path"] == "s3://bucket/raw/video-00002.mp4"
    assert found["stt"] == {"sample_uid": "video-00002", "transcript": None}
    assert found["crop"] is None
    assert client.get("/api/samples", params={"sample_uid": "nope"}).status_code == 404


def test_bad_payloads_are_422_naming_the_field(client: TestClient) -> None:
    ingest(client, samples(2))
    items = client.get("/api/features/face_detection/pending").json()["items"]
    assert items == []  # crop is not computed yet
    items = client.get("/api/features/crop/pending").json()["items"]
    row = results_for(items)[0]

    missing = {k: v for k, v in row.items() if k != "metaxy_provenance__frames"}
    answer = client.post("/api/features/crop/results", json=[missing])
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][-1] == "metaxy_provenance__frames"

    answer = client.post("/api/features/crop/results", json=[{**row, "colour": "red"}])
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][-1] == "colour"

    compute_all(client, "crop")
    faces = results_for(client.get("/api/features/face_detection/pending").json()["items"])
    answer = client.post(
        "/api/features/face_detection/results", json=[{**faces[0], "num_faces": "many"}]
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][-1] == "num_faces"

    # the library's own checks, with the library's message
    answer = client.post("/api/features/crop/results", json=[row, row])
    assert answer.status_code == 422
    assert "same sample appears more than once" in answer.json()["detail"]
    assert "sample_uid='video-00000'" in answer.json()["detail"]
    answer = client.post(
        "/api/features/video/samples", json=[{**samples(1)[0], "sample_uid": None}]
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][-1] == "sample_uid"
    assert client.post("/api/features/crop/results", json=[]).status_code == 422


def test_unknown_feature_is_404(client: TestClient) -> None:
    answer = client.get("/features/crops")
    assert answer.status_code == 404
    assert "Did you mean 'crop'?" in answer.json()["detail"]


def test_graph_has_field_level_edges(client: TestClient) -> None:
    graph = client.get("/api/graph").json()
    assert [f["key"] for f in graph["features"]] == ["video", "crop", "face_detection", "stt"]
    edges = {
        (e["parent"], e["parent_field"], e["child"], e["child_field"]) for e in graph["field_edges"]
    }
    assert edges == {
        ("video", "audio", "crop", "audio"),
        ("video", "frames", "crop", "frames"),
        ("crop", "frames", "face_detection", "faces"),
        ("video", "audio", "stt", "transcription"),
    }


def test_diff_after_a_code_version_bump(database_url: str, client: TestClient) -> None:
    assert client.get("/api/diff").json()["changed"] is False
    client.app.state.metaxy.close()  # type: ignore[attr-defined]
    with isolated_graph() as bumped:
        define_video_pipeline({"video.audio": "2"})
        app = create_app(database_url, graph=bumped)
        try:
            with TestClient(app) as second:
                diff = second.get("/api/diff").json()
                assert diff["changed"] is True
                changes = {c["feature"]: c for c in diff["features"]}
                assert set(changes) == {"video", "crop", "stt"}  # face_detection reads frames
                audio = changes["video"]["fields"][0]
                assert (audio["field"], audio["old_code_version"], audio["new_code_version"]) == (
                    "audio",
                    "1",
                    "2",
                )
                page = second.get("/diff").text
                assert "code version 1 -&gt; 2" in page
                assert "code version 1 -&gt; 2" in second.get("/features/video").text
                assert second.post("/api/snapshots").json()["recorded"] is True
                assert second.get("/api/diff").json()["changed"] is False
        finally:
            app.state.metaxy.close()


def test_dashboard_pages_render(client: TestClient) -> None:
    ingest(client, samples(3))
    index = client.get("/")
    assert index.status_code == 200
    svg = client.get("/dashboard/graph.svg").text
    for key in ("video", "crop", "face_detection", "stt"):
        assert f'data-feature="{key}"' in svg
        assert client.get(f"/features/{key}").status_code == 200
    assert 'data-feature="crop" data-state="new"' in svg
    assert "https://" not in index.text.replace("https://duckdb", "")  # no CDN


def test_polars_frame_unchanged_by_the_api(
    client: TestClient, store: mx.MetadataStore, pipeline: VideoPipeline
) -> None:
    rows = samples(4)
    ingest(client, rows)
    stored = store.read(pipeline.video).select("sample_uid", "path").sort("sample_uid")
    assert stored.equals(pl.DataFrame(rows).select("sample_uid", "path").sort("sample_uid"))
