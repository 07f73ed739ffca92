"""The snapshots table, and the functions that record, read and remove snapshots in it.

The table is an event log of *recordings*: each recording inserts one row per feature, all with
the same ``recording`` number (1, 2, 3...), and the latest snapshot is the recording with the
highest number. Numbering recordings rather than keying rows by ``snapshot_version`` lets a graph
return to an earlier state (A, then B, then A again) and still have A as its latest snapshot,
and lets a downgrade remove exactly the recording its upgrade made.

The table lives in its own ``MetaData`` (:data:`metadata`), not in ``SQLModel.metadata``: it is
metaxy-orm's bookkeeping, created by the Alembic revision that first records a snapshot or by
:func:`create_snapshots_table`, and it must not appear among the user's models.

Alembic revisions record snapshots through these functions (``alembic_ext``), and so does
``mxo graph push``. They take a SQLAlchemy ``Connection`` and run inside the caller's
transaction: they never commit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa

from metaxy_orm.exceptions import SnapshotError
from metaxy_orm.snapshots.model import (
    FeatureSnapshot,
    GraphSnapshot,
    SnapshotRecording,
    apply_changes,
    canonical_json,
    parse_changes,
    parse_snapshot,
    snapshot_fingerprint,
    snapshots_equal,
)

if TYPE_CHECKING:
    from metaxy_orm.graph import FeatureGraph

__all__ = [
    "SNAPSHOTS_TABLE",
    "create_snapshots_table",
    "latest_snapshot",
    "load_snapshot",
    "metadata",
    "record_changes",
    "record_changes_statement",
    "record_snapshot",
    "record_snapshot_statement",
    "remove_snapshot",
    "remove_snapshot_statement",
    "revert_changes",
    "snapshot_history",
    "snapshots_table",
]

SNAPSHOTS_TABLE: Final = "metaxy_graph_snapshots"

#: metaxy-orm's own tables; kept apart from ``SQLModel.metadata`` on purpose.
metadata = sa.MetaData()

snapshots_table = sa.Table(
    SNAPSHOTS_TABLE,
    metadata,
    sa.Column("recording", sa.Integer(), nullable=False, autoincrement=False),
    sa.Column("snapshot_version", sa.String(), nullable=False),
    sa.Column("feature_key", sa.String(), nullable=False),
    sa.Column("feature_version", sa.String(), nullable=False),
    sa.Column("field_versions", sa.Text(), nullable=False),  # JSON object: field -> version
    sa.Column("spec", sa.Text(), nullable=False),  # JSON: FeatureSpec.to_dict()
    sa.Column("hash_truncation_length", sa.Integer(), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("recording", "feature_key", name=f"pk_{SNAPSHOTS_TABLE}"),
)

_VALUE_COLUMNS = (
    "snapshot_version",
    "feature_key",
    "feature_version",
    "field_versions",
    "spec",
    "hash_truncation_length",
)


def create_snapshots_table(connection: sa.Connection) -> None:
    """Create the snapshots table if it does not exist (for use without Alembic)."""
    metadata.create_all(connection, checkfirst=True)


def _has_table(connection: sa.Connection) -> bool:
    return sa.inspect(connection).has_table(SNAPSHOTS_TABLE)


def _latest_recording(connection: sa.Connection) -> int | None:
    number = connection.execute(sa.select(sa.func.max(snapshots_table.c.recording))).scalar()
    return None if number is None else int(number)


# -- reading ---------------------------------------------------------------------------------


def _read_recording(connection: sa.Connection, recording: int) -> GraphSnapshot | None:
    t = snapshots_table
    # ``recorded_at`` is left out on purpose: it is not part of what a snapshot *is*.
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
        return None
    first = rows[0]
    return GraphSnapshot(
        snapshot_version=first.snapshot_version,
        hash_truncation_length=int(first.hash_truncation_length),
        features={
            row.feature_key: FeatureSnapshot(
                feature_version=row.feature_version,
                field_versions=json.loads(row.field_versions),
                spec=json.loads(row.spec),
            )
            for row in rows
        },
    )


def latest_snapshot(connection: sa.Connection) -> GraphSnapshot | None:
    """The most recently recorded snapshot, or ``None`` (no table, or nothing recorded yet)."""
    if not _has_table(connection):
        return None
    recording = _latest_recording(connection)
    return None if recording is None else _read_recording(connection, recording)


def _utc(value: datetime | str) -> datetime:
    """``recorded_at`` as an aware UTC datetime, whatever the driver hands back.

    Recordings are written in UTC; a database without a time zone type (SQLite) gives the
    value back naive, or as text.
    """
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.replace(tzinfo=UTC) if when.utcoffset() is None else when.astimezone(UTC)


def snapshot_history(connection: sa.Connection) -> list[SnapshotRecording]:
    """Every recording, oldest first: number, snapshot version, time and number of features.

    Empty when the table does not exist or holds nothing. One ``GROUP BY``: no spec is read.
    """
    if not _has_table(connection):
        return []
    t = snapshots_table
    rows = connection.execute(
        sa.select(
            t.c.recording,
            sa.func.min(t.c.snapshot_version).label("snapshot_version"),
            sa.func.min(t.c.recorded_at).label("recorded_at"),
            sa.func.count().label("feature_count"),
        )
        .group_by(t.c.recording)
        .order_by(t.c.recording)
    ).all()
    return [
        SnapshotRecording(
            number=int(row.recording),
            snapshot_version=str(row.snapshot_version),
            recorded_at=_utc(row.recorded_at),
            feature_count=int(row.feature_count),
        )
        for row in rows
    ]


def load_snapshot(connection: sa.Connection, recording_or_version: int | str) -> GraphSnapshot:
    """One recorded snapshot: by recording number (``3``) or by snapshot version (``"bfb8db9b"``,
    its most recent recording).

    Raises :class:`~metaxy_orm.exceptions.SnapshotError` when there is no such recording, naming
    what there is.
    """
    if isinstance(recording_or_version, bool) or not isinstance(recording_or_version, int | str):
        raise SnapshotError(
            "load_snapshot: give a recording number (int) or a snapshot version (str), "
            f"got {recording_or_version!r}"
        )
    t = snapshots_table
    exists = _has_table(connection)
    if isinstance(recording_or_version, int):
        recording: int | None = recording_or_version
    elif exists:
        number = connection.execute(
            sa.select(sa.func.max(t.c.recording)).where(
                t.c.snapshot_version == recording_or_version
            )
        ).scalar()
        recording = None if number is None else int(number)
    else:
        recording = None
    snapshot = None if recording is None or not exists else _read_recording(connection, recording)
    if snapshot is None:
        history = snapshot_history(connection)
        recorded = (
            ", ".join(f"{r.number} ({r.snapshot_version})" for r in history) if history else "none"
        )
        what = (
            f"recording {recording_or_version}"
            if isinstance(recording_or_version, int)
            else f"snapshot version {recording_or_version!r}"
        )
        raise SnapshotError(f"{what} was never recorded (recordings: {recorded})")
    return snapshot


# -- writing ---------------------------------------------------------------------------------


def record_snapshot(
    connection: sa.Connection,
    snapshot: FeatureGraph | Mapping[str, Any],
    *,
    hash_truncation_length: int | None = None,
    recorded_at: datetime | None = None,
) -> bool:
    """Record a snapshot (of a graph, or a snapshot as ``FeatureGraph.snapshot()`` returns it);
    ``True`` if rows were written.

    Idempotent: when the latest recorded snapshot already equals this one, nothing is written
    and ``False`` is returned. The table must exist (see :func:`create_snapshots_table`).
    """
    from metaxy_orm.graph import FeatureGraph

    if isinstance(snapshot, FeatureGraph):
        data = snapshot.snapshot(hash_truncation_length=hash_truncation_length)
    else:
        if hash_truncation_length is not None:
            from metaxy_orm.exceptions import SnapshotArgumentError

            raise SnapshotArgumentError(
                "hash_truncation_length applies to a graph, not to a snapshot: call "
                "graph.snapshot(hash_truncation_length=...) and record that"
            )
        data = parse_snapshot(snapshot)
    if not data["features"]:
        raise SnapshotError(
            "cannot record a snapshot of an empty graph. Import the modules that define your "
            "features before recording."
        )
    if not _has_table(connection):
        raise SnapshotError(
            f"table '{SNAPSHOTS_TABLE}' does not exist. Run the Alembic revision that creates "
            "it (`alembic upgrade head`), or call metaxy_orm.snapshots.create_snapshots_table()."
        )
    if snapshots_equal(latest_snapshot(connection), data):
        return False
    when = recorded_at or datetime.now(UTC)
    if when.utcoffset() is None:
        raise SnapshotError("recorded_at must be timezone-aware, e.g. datetime.now(UTC)")
    recording = (_latest_recording(connection) or 0) + 1
    connection.execute(
        snapshots_table.insert(),
        [
            {
                "recording": recording,
                "snapshot_version": data["snapshot_version"],
                "feature_key": key,
                "feature_version": feature["feature_version"],
                "field_versions": json.dumps(feature["field_versions"], sort_keys=True),
                "spec": json.dumps(feature["spec"], sort_keys=True),
                "hash_truncation_length": data["hash_truncation_length"],
                "recorded_at": when.astimezone(UTC),
            }
            for key, feature in data["features"].items()
        ],
    )
    return True


def remove_snapshot(connection: sa.Connection, snapshot_version: str) -> bool:
    """Delete the most recent recording of this snapshot version; ``True`` if one was deleted.

    This undoes :func:`record_snapshot` (an Alembic downgrade calls it): earlier recordings of
    the same version, e.g. from before the graph went A -> B -> A, are kept.
    """
    if not _has_table(connection):
        return False
    t = snapshots_table
    recording = connection.execute(
        sa.select(sa.func.max(t.c.recording)).where(t.c.snapshot_version == snapshot_version)
    ).scalar()
    if recording is None:
        return False
    connection.execute(t.delete().where(t.c.recording == recording))
    return True


def record_changes(
    connection: sa.Connection, changes: Mapping[str, Any], *, hash_truncation_length: int
) -> GraphSnapshot:
    """Apply a revision's changes to the latest recorded snapshot and record the result.

    The result keeps every feature the changes do not name as the latest recording has it, so
    revisions from two branches that changed different features compose, in either order
    (:func:`~metaxy_orm.snapshots.model.apply_changes`). Returns the snapshot now latest;
    nothing is written when it already was (re-running is harmless).
    """
    if not _has_table(connection):
        raise SnapshotError(
            f"table '{SNAPSHOTS_TABLE}' does not exist. Run the Alembic revision that creates "
            "it (`alembic upgrade head`), or call metaxy_orm.snapshots.create_snapshots_table()."
        )
    result = apply_changes(latest_snapshot(connection), changes, hash_truncation_length)
    if not result["features"]:
        raise SnapshotError("these graph changes remove every feature: nothing left to record")
    record_snapshot(connection, result)
    return result


def _recordings_newest_first(connection: sa.Connection) -> list[int]:
    t = snapshots_table
    query = sa.select(t.c.recording).distinct().order_by(t.c.recording.desc())
    return [int(n) for n in connection.execute(query).scalars()]


def _made_by(
    snapshot: GraphSnapshot,
    before: GraphSnapshot | None,
    feature_versions: Mapping[str, str | None],
) -> bool:
    """Whether ``snapshot``, recorded after ``before``, is what these changes made of it: the
    changed features have those versions, and every other feature is as it was."""
    after = snapshot["features"]
    earlier = {} if before is None else before["features"]
    for key, version in feature_versions.items():
        feature = after.get(key)
        if (None if feature is None else feature["feature_version"]) != version:
            return False
    for key in (set(after) | set(earlier)) - set(feature_versions):
        old, new = earlier.get(key), after.get(key)
        if old is None or new is None or canonical_json(old) != canonical_json(new):
            return False
    return True


def revert_changes(connection: sa.Connection, feature_versions: Mapping[str, str | None]) -> bool:
    """Undo :func:`record_changes`; ``True`` if something was removed or recorded.

    ``feature_versions`` (key -> the feature version the changes gave it, ``None`` for a
    removed feature) identifies the recording the changes made: the newest one in which those
    features have those versions while every other feature is as in the recording before it.
    When that is the latest recording (a linear history), it is removed. When other changes
    were recorded after it (another branch, downgraded in a different order than it was
    applied), a new recording is made instead: the latest snapshot with these features as they
    were before the changes, so that the other branch's changes stay. When no recording
    matches (the upgrade recorded nothing), nothing is done.
    """
    if not _has_table(connection):
        return False
    numbers = _recordings_newest_first(connection)
    if not numbers:
        return False
    snapshots = [_read_recording(connection, numbers[0])]
    for index, number in enumerate(numbers):
        following = numbers[index + 1] if index + 1 < len(numbers) else None
        before = None if following is None else _read_recording(connection, following)
        snapshots.append(before)
        current = snapshots[index]
        assert current is not None
        if not _made_by(current, before, feature_versions):
            continue
        if index == 0:
            connection.execute(
                snapshots_table.delete().where(snapshots_table.c.recording == number)
            )
            return True
        latest = snapshots[0]
        assert latest is not None
        features = dict(latest["features"])
        for key in feature_versions:
            previous = None if before is None else before["features"].get(key)
            if previous is None:
                features.pop(key, None)
            else:
                features[key] = previous
        if not features:
            return False
        truncation = latest["hash_truncation_length"]
        return record_snapshot(
            connection,
            GraphSnapshot(
                snapshot_version=snapshot_fingerprint(features, truncation),
                hash_truncation_length=truncation,
                features=features,
            ),
        )
    return False


# -- the same writes as single statements, for SQL scripts ----------------------------------


def _literal_rows(data: GraphSnapshot) -> Sequence[sa.Select[Any]]:
    return [
        sa.select(
            sa.literal(data["snapshot_version"], sa.String()).label("snapshot_version"),
            sa.literal(key, sa.String()).label("feature_key"),
            sa.literal(feature["feature_version"], sa.String()).label("feature_version"),
            sa.literal(json.dumps(feature["field_versions"], sort_keys=True), sa.Text()).label(
                "field_versions"
            ),
            sa.literal(json.dumps(feature["spec"], sort_keys=True), sa.Text()).label("spec"),
            sa.literal(data["hash_truncation_length"], sa.Integer()).label(
                "hash_truncation_length"
            ),
        )
        for key, feature in data["features"].items()
    ]


def record_snapshot_statement(snapshot: Mapping[str, Any]) -> sa.Insert:
    """One ``INSERT ... SELECT`` that records a snapshot, numbering it in SQL.

    For SQL scripts written ahead of time (Alembic's offline ``--sql`` mode), where nothing can
    be read first: it always inserts (no idempotency check) and ``recorded_at`` is the
    database's ``CURRENT_TIMESTAMP``. Online, use :func:`record_snapshot`.
    """
    data = parse_snapshot(snapshot)
    if not data["features"]:
        raise SnapshotError("cannot record a snapshot without features")
    rows = _literal_rows(data)
    values = (sa.union_all(*rows) if len(rows) > 1 else rows[0]).subquery("snapshot")
    return _insert_recording(values)


def remove_snapshot_statement(snapshot_version: str) -> sa.Delete:
    """One ``DELETE`` that does what :func:`remove_snapshot` does, for SQL scripts."""
    t = snapshots_table
    latest = (
        sa.select(sa.func.max(t.c.recording))
        .where(t.c.snapshot_version == snapshot_version)
        .scalar_subquery()
    )
    return t.delete().where(t.c.recording == latest)


def record_changes_statement(
    changes: Mapping[str, Any], *, snapshot_version: str, hash_truncation_length: int
) -> sa.Insert:
    """One ``INSERT ... SELECT`` that does what :func:`record_changes` does, for SQL scripts.

    The new recording is the latest one's rows for the features the changes do not name, plus
    the changed features, numbered in SQL. Its snapshot version is ``snapshot_version``, the
    one the revision was written for: SQL cannot hash the result, so a script applied on top
    of another branch's changes records the right features under the revision's version.
    """
    parsed = parse_changes(changes)
    t = snapshots_table
    named = list(parsed)
    literal = GraphSnapshot(
        snapshot_version=snapshot_version,
        hash_truncation_length=hash_truncation_length,
        features={k: f for k, f in parsed.items() if f is not None},
    )
    latest = sa.select(sa.func.max(t.c.recording)).scalar_subquery()
    kept = sa.select(
        sa.literal(snapshot_version, sa.String()).label("snapshot_version"),
        t.c.feature_key,
        t.c.feature_version,
        t.c.field_versions,
        t.c.spec,
        sa.literal(hash_truncation_length, sa.Integer()).label("hash_truncation_length"),
    ).where(t.c.recording == latest, t.c.feature_key.not_in(named))
    rows = [kept, *_literal_rows(literal)]
    values = sa.union_all(*rows).subquery("snapshot")
    return _insert_recording(values)


def _insert_recording(values: sa.Subquery) -> sa.Insert:
    """``INSERT ... SELECT`` of ``values`` as the next recording, numbered and stamped in SQL."""
    t = snapshots_table
    following = sa.select(
        (sa.func.coalesce(sa.func.max(t.c.recording), 0) + 1).label("recording")
    ).subquery("next_recording")
    source = sa.select(
        following.c.recording,
        *(values.c[name] for name in _VALUE_COLUMNS),
        sa.func.current_timestamp(),
    ).select_from(following.join(values, sa.true()))
    return t.insert().from_select(["recording", *_VALUE_COLUMNS, "recorded_at"], source)
