"""The main example: the video pipeline on embedded DuckDB, end to end.

    python -m example_app.demo [--samples 300] [--database duckdb:///:memory:]

It ingests videos, resolves and "computes" every feature, then changes only the audio of some
videos and shows that ``crop`` and ``stt`` must recompute exactly those samples while
``face_detection`` (which reads only the frames) has nothing to do.
"""

from __future__ import annotations

import argparse
import hashlib

import polars as pl
import sqlalchemy as sa
from sqlmodel import Session, SQLModel

import metaxy_orm as mx
from example_app.pipeline import VideoPipeline, define_video_pipeline


def checksum(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def video_samples(n: int, audio_edits: frozenset[int] = frozenset()) -> pl.DataFrame:
    """What an ingestion job knows about each video: its id and a checksum of each track."""
    ids = range(n)
    return pl.DataFrame(
        {
            "sample_uid": [f"video-{i:05d}" for i in ids],
            "path": [f"s3://bucket/raw/video-{i:05d}.mp4" for i in ids],
            "metaxy_provenance__audio": [
                checksum(f"audio-{i}-{'edited' if i in audio_edits else 'original'}") for i in ids
            ],
            "metaxy_provenance__frames": [checksum(f"frames-{i}") for i in ids],
        }
    )


def compute(feature: type[mx.Feature], todo: pl.DataFrame) -> pl.DataFrame:
    """Stand-in for the expensive step: fill the feature's own columns for each sample."""
    key = str(feature.feature_key())
    if key == "crop":
        return todo.with_columns(path=pl.format("s3://bucket/crops/{}.mp4", pl.col("sample_uid")))
    if key == "face_detection":
        return todo.with_columns(num_faces=pl.col("sample_uid").str.len_chars() % 4)
    if key == "stt":
        return todo.with_columns(transcript=pl.format("transcript of {}", pl.col("sample_uid")))
    return todo


def run_downstream(store: mx.MetadataStore, pipeline: VideoPipeline) -> dict[str, mx.Increment]:
    """Resolve every downstream feature in topological order and write what it computes."""
    increments = {}
    for feature in pipeline[1:]:
        inc = store.resolve_update(feature)
        increments[str(feature.feature_key())] = inc
        todo = inc.to_compute
        if todo.height:
            store.write(feature, compute(feature, todo))
    return increments


def report(title: str, increments: dict[str, mx.Increment]) -> None:
    print(f"\n{title}")
    print(f"  {'feature':<16}{'new':>6}{'stale':>7}{'orphaned':>10}")
    for key, inc in increments.items():
        print(f"  {key:<16}{inc.new.height:>6}{inc.stale.height:>7}{inc.orphaned.height:>10}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--database", default="duckdb:///:memory:")
    args = parser.parse_args(argv)
    n = args.samples

    pipeline = define_video_pipeline()
    engine = sa.create_engine(args.database)
    SQLModel.metadata.create_all(engine)
    with mx.MetadataStore(engine) as store:
        graph = pipeline.video.feature_graph()
        print(f"metaxy-orm demo: {n} videos on {store}")
        print(f"graph snapshot {graph.snapshot_version}")
        for feature in pipeline:
            print(
                f"  {feature.feature_key()!s:<16} version {feature.feature_version()}  fields "
                + ", ".join(f"{k}={v}" for k, v in feature.field_versions().items())
            )

        # 1. Ingest: every video is new.
        inc = store.resolve_update(pipeline.video, video_samples(n))
        store.write(pipeline.video, inc.new)
        report("1. first run: everything is new", {"video": inc, **run_downstream(store, pipeline)})

        # 2. Nothing changed: nothing to do.
        inc = store.resolve_update(pipeline.video, video_samples(n))
        report("2. second run: nothing to do", {"video": inc, **run_downstream(store, pipeline)})

        # 3. The audio track of every tenth video is re-encoded.
        edited = frozenset(range(0, n, 10))
        inc = store.resolve_update(pipeline.video, video_samples(n, edited))
        store.write(pipeline.video, inc.stale)
        increments = run_downstream(store, pipeline)
        report(f"3. audio of {len(edited)} videos changed", {"video": inc, **increments})
        crop_ids = set(increments["crop"].stale["sample_uid"])
        stt_ids = set(increments["stt"].stale["sample_uid"])
        expected_ids = {f"video-{i:05d}" for i in edited}
        assert crop_ids == stt_ids == expected_ids, "crop/stt must recompute the edited videos"
        assert increments["face_detection"].is_empty(), "face_detection reads frames only"
        print(
            "   crop and stt recomputed exactly the edited videos; face_detection had nothing to do"
        )

        # 4. Reading: the latest row per sample wins, in Polars or through the ORM.
        crops = store.read(pipeline.crop)
        history = store.read(pipeline.crop, history=True)
        print(f"\n4. crop holds {history.height} rows for {crops.height} samples (latest wins)")
        with Session(engine) as session:
            first = session.exec(
                mx.latest(pipeline.stt).where(pipeline.stt.sample_uid == "video-00000")
            ).one()
            print(f"   ORM: {first.sample_uid} -> {first.transcript!r}")  # type: ignore[attr-defined]
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
