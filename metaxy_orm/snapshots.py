"""Graph snapshots: what the feature graph looked like, recorded in the database.

A snapshot lists every feature with its feature version, its field versions and its spec, so
that a later process can tell what changed in the code since (``diff_snapshots``), and which
feature versions the stored rows were written under. Alembic revisions record one whenever the
graph changes (``alembic_ext``); ``mxo graph push`` records one without Alembic. Both go through
:func:`record_snapshot`.

The table is an event log of *recordings*: each recording inserts one row per feature, all with
the same ``recording`` number (1, 2, 3...), and the latest snapshot is the recording with the
highest number. Numbering recordings rather than keying rows by ``snapshot_version`` lets a graph
return to an earlier state (A, then B, then A again) and still have A as its latest snapshot,
and lets a downgrade remove exactly the recording its upgrade made.

The table lives in its own ``MetaData`` (:data:`metadata`), not in ``SQLModel.metadata``: it is
metaxy-orm's bookkeeping, created by the Alembic revision that first records a snapshot or by
:func:`create_snapshots_table`, and it must not appear among the user's models.

:func:`diff_snapshots` is pure (no database, no Alembic); the other functions take a SQLAlchemy
``Connection`` and run inside the caller's transaction: they never commit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, TypedDict

import sqlalchemy as sa

from metaxy_orm.exceptions import SnapshotError

if TYPE_CHECKING:
    from metaxy_orm.graph import FeatureGraph

__all__ = [
    "SNAPSHOTS_TABLE",
    "FeatureChange",
    "FeatureSnapshot",
    "FieldChange",
    "GraphSnapshot",
    "SnapshotDiff",
    "SnapshotError",
    "create_snapshots_table",
    "diff_snapshots",
    "graph_snapshot",
    "latest_snapshot",
    "metadata",
    "record_snapshot",
    "record_snapshot_statement",
    "remove_snapshot",
    "remove_snapshot_statement",
    "snapshots_equal",
    "snapshots_table",
]

SNAPSHOTS_TABLE: Final = "metaxy_graph_snapshots"


class FeatureSnapshot(TypedDict):
    """One feature in a snapshot."""

    feature_version: str
    field_versions: dict[str, str]
    spec: dict[str, Any]


class GraphSnapshot(TypedDict):
    """A whole snapshot: the JSON-ready literal that Alembic revisions carry."""

    snapshot_version: str
    hash_truncation_length: int
    features: dict[str, FeatureSnapshot]


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


# -- building and checking snapshot literals -------------------------------------------------


def graph_snapshot(
    graph: FeatureGraph, *, hash_truncation_length: int | None = None
) -> GraphSnapshot:
    """The snapshot of a graph (by default at the graph's own truncation length)."""
    raw = graph.snapshot(hash_truncation_length=hash_truncation_length)
    length = (
        graph.hash_truncation_length if hash_truncation_length is None else hash_truncation_length
    )
    return _checked({**raw, "hash_truncation_length": length})


def _checked(data: Mapping[str, Any]) -> GraphSnapshot:
    """Validate a snapshot literal (e.g. one copied into a revision file) and copy it."""
    try:
        features = data["features"]
        snapshot = GraphSnapshot(
            snapshot_version=str(data["snapshot_version"]),
            hash_truncation_length=int(data["hash_truncation_length"]),
            features={
                str(key): FeatureSnapshot(
                    feature_version=str(feature["feature_version"]),
                    field_versions={
                        str(k): str(v) for k, v in dict(feature["field_versions"]).items()
                    },
                    spec=dict(feature["spec"]),
                )
                for key, feature in dict(features).items()
            },
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SnapshotError(
            f"malformed graph snapshot ({type(exc).__name__}: {exc}); expected a mapping with "
            "'snapshot_version', 'hash_truncation_length' and 'features' "
            "(key -> feature_version, field_versions, spec), as FeatureGraph.snapshot() returns"
        ) from exc
    return snapshot


def _canonical(snapshot: Mapping[str, Any]) -> str:
    return json.dumps(snapshot, sort_keys=True)


def snapshots_equal(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """Whether two snapshots record the same thing (versions, specs and truncation length)."""
    if a is None or b is None:
        return a is b
    return _canonical(_checked(a)) == _canonical(_checked(b))


# -- the table -------------------------------------------------------------------------------


def create_snapshots_table(connection: sa.Connection) -> None:
    """Create the snapshots table if it does not exist (for use without Alembic)."""
    metadata.create_all(connection, checkfirst=True)


def _has_table(connection: sa.Connection) -> bool:
    return sa.inspect(connection).has_table(SNAPSHOTS_TABLE)


def _latest_recording(connection: sa.Connection) -> int | None:
    number = connection.execute(sa.select(sa.func.max(snapshots_table.c.recording))).scalar()
    return None if number is None else int(number)


def latest_snapshot(connection: sa.Connection) -> GraphSnapshot | None:
    """The most recently recorded snapshot, or ``None`` (no table, or nothing recorded yet)."""
    if not _has_table(connection):
        return None
    recording = _latest_recording(connection)
    if recording is None:
        return None
    t = snapshots_table
    # ``recorded_at`` is left out on purpose: it is not part of what a snapshot *is*, and
    # DuckDB cannot hand a TIMESTAMPTZ to Python without pytz.
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


def record_snapshot(
    connection: sa.Connection,
    snapshot: FeatureGraph | Mapping[str, Any],
    *,
    hash_truncation_length: int | None = None,
    recorded_at: datetime | None = None,
) -> bool:
    """Record a snapshot (of a graph, or a snapshot literal); ``True`` if rows were written.

    Idempotent: when the latest recorded snapshot already equals this one, nothing is written
    and ``False`` is returned. The table must exist (see :func:`create_snapshots_table`).
    """
    from metaxy_orm.graph import FeatureGraph

    if isinstance(snapshot, FeatureGraph):
        data = graph_snapshot(snapshot, hash_truncation_length=hash_truncation_length)
    else:
        if hash_truncation_length is not None:
            raise TypeError("hash_truncation_length applies to a graph, not to a snapshot literal")
        data = _checked(snapshot)
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


# -- the same writes as single statements, for SQL scripts ----------------------------------


def record_snapshot_statement(snapshot: Mapping[str, Any]) -> sa.Insert:
    """One ``INSERT ... SELECT`` that records a snapshot literal, numbering it in SQL.

    For SQL scripts written ahead of time (Alembic's offline ``--sql`` mode), where nothing can
    be read first: it always inserts (no idempotency check) and ``recorded_at`` is the
    database's ``CURRENT_TIMESTAMP``. Online, use :func:`record_snapshot`.
    """
    data = _checked(snapshot)
    if not data["features"]:
        raise SnapshotError("cannot record a snapshot without features")
    t = snapshots_table
    rows = [
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
    values = (sa.union_all(*rows) if len(rows) > 1 else rows[0]).subquery("snapshot")
    following = sa.select(
        (sa.func.coalesce(sa.func.max(t.c.recording), 0) + 1).label("recording")
    ).subquery("next_recording")
    source = sa.select(
        following.c.recording,
        *(values.c[name] for name in _VALUE_COLUMNS),
        sa.func.current_timestamp(),
    ).select_from(following.join(values, sa.true()))
    return t.insert().from_select(["recording", *_VALUE_COLUMNS, "recorded_at"], source)


_VALUE_COLUMNS = (
    "snapshot_version",
    "feature_key",
    "feature_version",
    "field_versions",
    "spec",
    "hash_truncation_length",
)


def remove_snapshot_statement(snapshot_version: str) -> sa.Delete:
    """One ``DELETE`` that does what :func:`remove_snapshot` does, for SQL scripts."""
    t = snapshots_table
    latest = (
        sa.select(sa.func.max(t.c.recording))
        .where(t.c.snapshot_version == snapshot_version)
        .scalar_subquery()
    )
    return t.delete().where(t.c.recording == latest)


# -- differences -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    """A field added (no old version), removed (no new version) or whose version changed."""

    field: str
    old_version: str | None
    new_version: str | None
    old_code_version: str | None
    new_code_version: str | None

    def describe(self) -> str:
        if self.old_version is None:
            return (
                f"field {self.field} added (version {self.new_version}, "
                f"code version {self.new_code_version})"
            )
        if self.new_version is None:
            return f"field {self.field} removed (was version {self.old_version})"
        versions = f"version {self.old_version} -> {self.new_version}"
        if self.old_code_version == self.new_code_version:
            return f"field {self.field}: {versions} (upstream changed)"
        code = f"code version {self.old_code_version} -> {self.new_code_version}"
        return f"field {self.field}: {code}, {versions}"


@dataclass(frozen=True)
class FeatureChange:
    """A feature added (no old version), removed (no new version) or changed."""

    feature: str
    old_version: str | None
    new_version: str | None
    fields: tuple[FieldChange, ...] = ()
    spec_changed: bool = False

    @property
    def added_fields(self) -> tuple[str, ...]:
        return tuple(f.field for f in self.fields if f.old_version is None)

    @property
    def removed_fields(self) -> tuple[str, ...]:
        return tuple(f.field for f in self.fields if f.new_version is None)

    @property
    def changed_fields(self) -> tuple[FieldChange, ...]:
        return tuple(f for f in self.fields if f.old_version and f.new_version)

    def describe(self) -> list[str]:
        if self.old_version is None:
            names = ", ".join(f.field for f in self.fields)
            return [f"feature {self.feature} added (version {self.new_version}; fields: {names})"]
        if self.new_version is None:
            return [f"feature {self.feature} removed (was version {self.old_version})"]
        head = f"feature {self.feature}: "
        if self.old_version != self.new_version:
            head += f"version {self.old_version} -> {self.new_version}"
        else:
            head += f"version {self.new_version} unchanged"
        if self.spec_changed:
            head += "; spec changed"
        return [head, *(f"  {f.describe()}" for f in self.fields)]


@dataclass(frozen=True)
class SnapshotDiff:
    """What changed between two snapshots, feature by feature (in the new snapshot's order)."""

    old_snapshot_version: str | None
    new_snapshot_version: str
    features: tuple[FeatureChange, ...]
    old_hash_truncation_length: int | None = None
    new_hash_truncation_length: int | None = None

    @property
    def added(self) -> tuple[str, ...]:
        return tuple(f.feature for f in self.features if f.old_version is None)

    @property
    def removed(self) -> tuple[str, ...]:
        return tuple(f.feature for f in self.features if f.new_version is None)

    @property
    def changed(self) -> tuple[FeatureChange, ...]:
        return tuple(f for f in self.features if f.old_version and f.new_version)

    def __bool__(self) -> bool:
        return bool(self.features) or (
            self.old_hash_truncation_length != self.new_hash_truncation_length
        )

    def describe(self) -> list[str]:
        """Human-readable lines, e.g. for the comments of an Alembic revision."""
        old = self.old_snapshot_version or "(none recorded)"
        lines = [f"graph snapshot {old} -> {self.new_snapshot_version}"]
        if self.old_hash_truncation_length not in (None, self.new_hash_truncation_length):
            lines.append(
                f"hash truncation length {self.old_hash_truncation_length} -> "
                f"{self.new_hash_truncation_length}"
            )
        for change in self.features:
            lines.extend(change.describe())
        return lines


def _code_versions(feature: Mapping[str, Any]) -> dict[str, str | None]:
    return {
        str(f["key"]): (None if f.get("code_version") is None else str(f["code_version"]))
        for f in feature["spec"].get("fields", [])
    }


def _without_field_versions(spec: Mapping[str, Any]) -> str:
    """The spec minus its fields' code versions, whose changes are reported per field."""
    fields = [{k: v for k, v in f.items() if k != "code_version"} for f in spec.get("fields", [])]
    return _canonical({**spec, "fields": sorted(fields, key=lambda f: str(f.get("key")))})


def _feature_change(key: str, old: FeatureSnapshot, new: FeatureSnapshot) -> FeatureChange | None:
    old_fields, new_fields = old["field_versions"], new["field_versions"]
    old_code, new_code = _code_versions(old), _code_versions(new)
    fields = [
        FieldChange(
            name,
            old_fields.get(name),
            new_fields.get(name),
            old_code.get(name) if name in old_fields else None,
            new_code.get(name) if name in new_fields else None,
        )
        for name in sorted(set(old_fields) | set(new_fields))
        if old_fields.get(name) != new_fields.get(name)
    ]
    spec_changed = _without_field_versions(old["spec"]) != _without_field_versions(new["spec"])
    if not fields and not spec_changed and old["feature_version"] == new["feature_version"]:
        return None
    return FeatureChange(
        key, old["feature_version"], new["feature_version"], tuple(fields), spec_changed
    )


def diff_snapshots(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> SnapshotDiff:
    """What changed from ``old`` (``None``: nothing recorded yet) to ``new``.

    Lists added and removed features, changed feature versions, added and removed fields, and
    fields whose version changed, with their code versions (a field whose code version did not
    change moved because something upstream did). A spec change that moves no version (a new
    ``FeatureDep`` filter, other id columns) is reported too, as ``spec_changed``.
    """
    after = _checked(new)
    before = None if old is None else _checked(old)
    before_features = {} if before is None else before["features"]
    changes: list[FeatureChange] = []
    for key, feature in after["features"].items():
        previous = before_features.get(key)
        if previous is None:
            code = _code_versions(feature)
            changes.append(
                FeatureChange(
                    key,
                    None,
                    feature["feature_version"],
                    tuple(
                        FieldChange(name, None, version, None, code.get(name))
                        for name, version in feature["field_versions"].items()
                    ),
                )
            )
            continue
        change = _feature_change(key, previous, feature)
        if change is not None:
            changes.append(change)
    for key, feature in before_features.items():
        if key not in after["features"]:
            changes.append(FeatureChange(key, feature["feature_version"], None))
    return SnapshotDiff(
        old_snapshot_version=None if before is None else before["snapshot_version"],
        new_snapshot_version=after["snapshot_version"],
        features=tuple(changes),
        old_hash_truncation_length=None if before is None else before["hash_truncation_length"],
        new_hash_truncation_length=after["hash_truncation_length"],
    )
