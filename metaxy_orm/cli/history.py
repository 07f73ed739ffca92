"""The recorded graph snapshots, read from the table the Alembic extension writes.

:mod:`metaxy_orm.snapshots` reads the latest recording; ``mxo graph history`` and
``mxo graph diff 3 5`` need any of them, so this module queries ``snapshots_table`` itself,
and resolves the references a user types (``latest``, ``latest~1``, ``3``, a snapshot version
or its prefix, ``code``, a JSON file).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from metaxy_orm.cli.errors import CliError
from metaxy_orm.snapshots import (
    SNAPSHOTS_TABLE,
    FeatureSnapshot,
    GraphSnapshot,
    snapshots_table,
)

__all__ = ["Recording", "load_recording", "recordings", "resolve_ref"]

CODE = "code"


@dataclass(frozen=True)
class Recording:
    """One recording of a snapshot."""

    recording: int
    snapshot_version: str
    features: int
    recorded_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "recording": self.recording,
            "snapshot_version": self.snapshot_version,
            "features": self.features,
            "recorded_at": None if self.recorded_at is None else self.recorded_at.isoformat(),
        }


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def recordings(connection: sa.Connection) -> list[Recording]:
    """Every recording, newest first (empty when the table does not exist)."""
    if not sa.inspect(connection).has_table(SNAPSHOTS_TABLE):
        return []
    t = snapshots_table
    rows = connection.execute(
        sa.select(
            t.c.recording,
            sa.func.min(t.c.snapshot_version),
            sa.func.count(),
            sa.func.max(t.c.recorded_at),
        )
        .group_by(t.c.recording)
        .order_by(t.c.recording.desc())
    ).all()
    return [Recording(int(r[0]), str(r[1]), int(r[2]), _utc(r[3])) for r in rows]


def load_recording(connection: sa.Connection, recording: int) -> GraphSnapshot:
    """The snapshot one recording holds."""
    t = snapshots_table
    rows = connection.execute(
        sa.select(
            t.c.snapshot_version,
            t.c.hash_truncation_length,
            t.c.feature_key,
            t.c.feature_version,
            t.c.field_versions,
            t.c.spec,
        )
        .where(t.c.recording == recording)
        .order_by(t.c.feature_key)
    ).all()
    if not rows:
        raise CliError(f"there is no recording {recording}; see `mxo graph history`")
    features = {
        row.feature_key: FeatureSnapshot(
            feature_version=row.feature_version,
            field_versions=json.loads(row.field_versions),
            spec=json.loads(row.spec),
        )
        for row in rows
    }
    return GraphSnapshot(
        snapshot_version=rows[0].snapshot_version,
        hash_truncation_length=int(rows[0].hash_truncation_length),
        features=_topological(features),
    )


def _topological(features: dict[str, FeatureSnapshot]) -> dict[str, FeatureSnapshot]:
    """Features in the order of :meth:`FeatureGraph.topological_order` (ties by key)."""
    done: dict[str, FeatureSnapshot] = {}
    pending = dict(sorted(features.items()))
    while pending:
        key = next(
            (
                k
                for k, f in pending.items()
                if all(
                    d["feature"] in done or d["feature"] not in pending for d in f["spec"]["deps"]
                )
            ),
            next(iter(pending)),
        )
        done[key] = pending.pop(key)
    return done


def resolve_ref(connection: sa.Connection | None, ref: str) -> tuple[str, int | None, Path | None]:
    """What a reference names: ``("code", None, None)``, a recording number, or a JSON file.

    ``latest`` is the newest recording and ``latest~N`` the one N recordings before; a number
    is a recording; anything else is a snapshot version (or a unique prefix of one, newest
    recording of it) or a path to a JSON snapshot (``mxo graph render --format json``).
    """
    if ref == CODE:
        return CODE, None, None
    if ref.endswith(".json"):
        path = Path(ref)
        if not path.is_file():
            raise CliError(f"snapshot file {ref} does not exist")
        return f"file {ref}", None, path
    if connection is None:
        raise CliError(f"snapshot reference '{ref}' needs a database")
    known = recordings(connection)
    if not known:
        raise CliError(
            f"cannot resolve '{ref}': no snapshot is recorded in the database yet. Record one "
            "with `mxo graph push` (or `alembic upgrade head`)."
        )
    if ref == "latest" or ref.startswith("latest~"):
        back = ref.removeprefix("latest").removeprefix("~") or "0"
        if not back.isdigit() or int(back) >= len(known):
            raise CliError(
                f"cannot resolve '{ref}': {len(known)} recording(s) exist; use latest~0 "
                f"to latest~{len(known) - 1}"
            )
        hit = known[int(back)]
        return f"recording {hit.recording}", hit.recording, None
    if ref.isdigit():
        number = int(ref)
        if all(r.recording != number for r in known):
            numbers = ", ".join(str(r.recording) for r in reversed(known))
            raise CliError(f"there is no recording {number} (recordings: {numbers})")
        return f"recording {number}", number, None
    matches = [r for r in known if r.snapshot_version.startswith(ref)]
    versions = {r.snapshot_version for r in matches}
    if len(versions) != 1:
        what = "matches no" if not versions else f"is ambiguous among {len(versions)}"
        raise CliError(
            f"snapshot reference '{ref}' {what} recorded snapshot version(s); use `code`, "
            "`latest`, `latest~N`, a recording number or a snapshot version "
            "(see `mxo graph history`)"
        )
    return f"recording {matches[0].recording}", matches[0].recording, None
