"""What every request of the app shares: the engine, the store and the feature graph."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

import metaxy_orm as mx
from metaxy_orm.snapshots import (
    create_snapshots_table,
    diff_snapshots,
    graph_snapshot,
    latest_snapshot,
    record_snapshot,
)
from metaxy_orm.web import open_engine


@dataclass
class AppState:
    engine: sa.Engine
    store: mx.MetadataStore
    graph: mx.FeatureGraph
    features: dict[str, type[mx.Feature]] = field(default_factory=dict)

    @classmethod
    def open(cls, url: str, graph: mx.FeatureGraph) -> AppState:
        """Open the database, create the feature tables and record a first graph snapshot.

        The snapshot is only recorded when none is: a later code-version bump then shows in
        the diff view until someone records the new snapshot (``POST /api/snapshots``).
        """
        engine = open_engine(url)
        features = {str(k): graph.get_feature(k) for k in graph.topological_order()}
        tables = [f.__table__ for f in features.values()]  # type: ignore[attr-defined]
        SQLModel.metadata.create_all(engine, tables=tables)
        with engine.begin() as conn:
            create_snapshots_table(conn)
            if latest_snapshot(conn) is None:
                record_snapshot(conn, graph)
        return cls(engine, mx.MetadataStore(engine), graph, features)

    def feature(self, key: str) -> type[mx.Feature]:
        if key not in self.features:
            raise mx.FeatureNotFoundError(key, self.features)
        return self.features[key]

    def statuses(self) -> dict[str, mx.FeatureStatus]:
        return {s.feature: s for s in self.store.status(graph=self.graph)}

    def diff(self) -> tuple[str | None, Any]:
        """The recorded snapshot's version and its diff with the code's graph."""
        with self.engine.connect() as conn:
            recorded = latest_snapshot(conn)
        diff = diff_snapshots(recorded, graph_snapshot(self.graph))
        return (None if recorded is None else recorded["snapshot_version"]), diff

    def record(self) -> tuple[str, bool]:
        with self.engine.begin() as conn:
            written = record_snapshot(conn, self.graph)
        return self.graph.snapshot_version, written

    def close(self) -> None:
        self.engine.dispose()
