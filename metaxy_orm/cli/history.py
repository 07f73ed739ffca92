"""The recorded graph snapshots as the command line names them.

Resolves the references a user types (``latest``, ``latest~1``, ``3``, a snapshot version or
its prefix, ``code``, a JSON file) to recordings that :mod:`metaxy_orm.snapshots` reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from metaxy_orm.cli.errors import CliError
from metaxy_orm.snapshots import (
    FeatureSnapshot,
    GraphSnapshot,
    SnapshotError,
    SnapshotRecording,
    load_snapshot,
    snapshot_history,
)

__all__ = ["load_recording", "recording_dict", "recordings", "resolve_ref"]

CODE = "code"


def recordings(connection: sa.Connection) -> list[SnapshotRecording]:
    """Every recording, newest first (empty when the table does not exist)."""
    return list(reversed(snapshot_history(connection)))


def recording_dict(recording: SnapshotRecording) -> dict[str, Any]:
    """The JSON form of one recording in ``mxo graph history --json``."""
    return {
        "recording": recording.number,
        "snapshot_version": recording.snapshot_version,
        "features": recording.feature_count,
        "recorded_at": recording.recorded_at.isoformat(),
    }


def load_recording(connection: sa.Connection, recording: int) -> GraphSnapshot:
    """The snapshot one recording holds, features in topological order."""
    try:
        snapshot = load_snapshot(connection, recording)
    except SnapshotError as exc:
        raise CliError(f"{exc}; see `mxo graph history`") from exc
    return GraphSnapshot(
        snapshot_version=snapshot["snapshot_version"],
        hash_truncation_length=snapshot["hash_truncation_length"],
        features=_topological(snapshot["features"]),
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
        return f"recording {hit.number}", hit.number, None
    if ref.isdigit():
        number = int(ref)
        if all(r.number != number for r in known):
            numbers = ", ".join(str(r.number) for r in reversed(known))
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
    return f"recording {matches[0].number}", matches[0].number, None
