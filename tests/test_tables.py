"""Feature classes as tables: columns, keys, index and time zone on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select

import metaxy_orm as mx
from example_app.pipeline import VideoPipeline, define_video_pipeline
from metaxy_orm._backends import capabilities_for

ROW_COLUMNS = {
    "metaxy_provenance": False,
    "metaxy_data_version": False,
    "metaxy_feature_version": False,
    "metaxy_snapshot_version": False,
    "metaxy_created_at": False,
    "metaxy_materialization_id": True,
}
PRIMARY_KEY = ["sample_uid", "metaxy_data_version", "metaxy_created_at"]


def system_columns(fields: list[str]) -> dict[str, bool]:
    """System column name -> nullable, for a feature with these fields."""
    per_field = {
        f"metaxy_{kind}__{f}": True for kind in ("provenance", "data_version") for f in fields
    }
    return {**per_field, **ROW_COLUMNS}


EXPECTED_FIELDS = {
    "video": ["audio", "frames"],
    "crop": ["audio", "frames"],
    "face_detection": ["faces"],
    "stt": ["transcription"],
}


@pytest.fixture
def pipeline(engine: sa.Engine) -> VideoPipeline:
    features = define_video_pipeline()
    SQLModel.metadata.create_all(engine)
    return features


def table_of(feature: type[mx.Feature]) -> sa.Table:
    table = feature.__table__  # type: ignore[attr-defined]
    assert isinstance(table, sa.Table)
    return table


def sorting_key(engine: sa.Engine, table: str) -> str:
    """ClickHouse: the MergeTree ORDER BY of a table (it has no primary key constraint)."""
    (key,) = query(
        engine,
        f"SELECT sorting_key FROM system.tables WHERE name = '{table}' "
        "AND database = currentDatabase()",
    )
    return str(key)


def key_in_database(engine: sa.Engine) -> bool:
    """Whether the database itself refuses a duplicate primary key of a feature table."""
    capabilities = capabilities_for(engine.dialect.name)
    return capabilities.enforces_constraints and capabilities.creates_feature_primary_key


def query(engine: sa.Engine, sql: str) -> list[Any]:
    """The first column of a raw SQL query (for catalog queries reflection cannot answer)."""
    with engine.connect() as conn:
        return list(conn.exec_driver_sql(sql).scalars().all())


def row(feature: type[mx.Feature], created_at: datetime, **values: Any) -> mx.Feature:
    defaults: dict[str, Any] = {
        "sample_uid": "s1",
        "metaxy_provenance": "prov",
        "metaxy_data_version": "data",
        "metaxy_feature_version": feature.feature_version(),
        "metaxy_snapshot_version": feature.feature_graph().snapshot_version,
        "metaxy_created_at": created_at,
    }
    return feature(**{**defaults, **values})


def test_create_all_creates_every_feature_table(engine: sa.Engine, pipeline: VideoPipeline) -> None:
    names = set(sa.inspect(engine).get_table_names())
    assert {"video", "crop", "face_detection", "stt"} <= names
    SQLModel.metadata.create_all(engine)  # idempotent


def test_reflected_system_columns_and_nullability(
    engine: sa.Engine, pipeline: VideoPipeline
) -> None:
    inspector = sa.inspect(engine)
    for name, fields in EXPECTED_FIELDS.items():
        reflected = {c["name"]: c["nullable"] for c in inspector.get_columns(name)}
        for column, nullable in system_columns(fields).items():
            assert column in reflected, (name, column)
            assert reflected[column] is nullable, (name, column)
        assert reflected["sample_uid"] is False
    video = {c["name"]: c["nullable"] for c in inspector.get_columns("video")}
    assert video["path"] is True
    assert video["duration_s"] is True
    unexpected = {c for c in video if c.startswith("metaxy_")} - set(
        system_columns(["audio", "frames"])
    )
    assert not unexpected


def test_primary_key_on_the_table_object(pipeline: VideoPipeline) -> None:
    for feature in pipeline:
        table = table_of(feature)
        assert [c.name for c in table.primary_key.columns] == PRIMARY_KEY
        assert table.primary_key.name == f"pk_{table.name}"


def test_primary_key_in_the_database(engine: sa.Engine, pipeline: VideoPipeline) -> None:
    if not capabilities_for(engine.dialect.name).enforces_constraints:
        # ClickHouse: no constraint; the table is sorted for the latest row per sample
        assert sorting_key(engine, "video") == "sample_uid, metaxy_created_at"
        return
    reflected = sa.inspect(engine).get_pk_constraint("video")
    if not capabilities_for(engine.dialect.name).creates_feature_primary_key:
        # DuckDB: the ORM keeps the key, the database has no key index (the store keeps rows
        # unique); the snapshot table, not a feature table, keeps its key.
        assert reflected["constrained_columns"] == []
        constraints = query(
            engine,
            "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
            "WHERE constraint_type = 'PRIMARY KEY'",
        )
        assert not [c for c in constraints if c[0] in {f.__tablename__ for f in pipeline}]
        not_null = query(
            engine,
            "SELECT constraint_column_names FROM duckdb_constraints() "
            "WHERE table_name = 'video' AND constraint_type = 'NOT NULL'",
        )
        assert set(PRIMARY_KEY) <= {c for names in not_null for c in names}
    else:
        assert reflected["constrained_columns"] == PRIMARY_KEY
        assert reflected["name"] == "pk_video"


def test_primary_key_rejects_a_duplicate_row(engine: sa.Engine, pipeline: VideoPipeline) -> None:
    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    with Session(engine) as session:
        session.add(row(pipeline.video, when))
        session.commit()
    # Same sample, data version and time: the key forbids it, whatever the other columns say.
    with Session(engine) as session:
        session.add(row(pipeline.video, when, path="/other"))
        if key_in_database(engine):
            with pytest.raises(sa.exc.IntegrityError):
                session.commit()
        else:  # ClickHouse and DuckDB keep both rows: only the store's checks guard the key
            session.commit()
    # Another data version or another time is a new row of the history.
    with Session(engine) as session:
        session.add(row(pipeline.video, when + timedelta(seconds=1)))
        session.add(row(pipeline.video, when, metaxy_data_version="other"))
        session.commit()
    enforced = key_in_database(engine)
    assert query(engine, "SELECT count(*) FROM video") == [3 if enforced else 4]


def test_id_columns_are_not_nullable(engine: sa.Engine) -> None:
    """An id column is part of the primary key, even when annotated as optional."""

    class Video(mx.Feature, table=True, spec=mx.FeatureSpec(key="video", id_columns=["uid"])):
        uid: str | None = None

    SQLModel.metadata.create_all(engine)
    values = {
        "uid": None,
        "metaxy_provenance": "prov",
        "metaxy_data_version": "data",
        "metaxy_feature_version": "f",
        "metaxy_snapshot_version": "s",
        "metaxy_created_at": datetime(2024, 1, 2, tzinfo=UTC),
    }
    assert table_of(Video).c.uid.nullable is False
    if not capabilities_for(engine.dialect.name).enforces_constraints:
        # ClickHouse: the column is not Nullable (a NULL is stored as ''), and the sort key
        assert sorting_key(engine, "video") == "uid, metaxy_created_at"
        return
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(table_of(Video).insert(), values)


def test_latest_row_index(engine: sa.Engine, pipeline: VideoPipeline) -> None:
    for feature in pipeline:
        table = table_of(feature)
        latest = [i for i in table.indexes if i.name == f"ix_{table.name}_metaxy_latest"]
        assert len(latest) == 1
        assert [c.name for c in latest[0].columns] == ["sample_uid", "metaxy_created_at"]
    if not capabilities_for(engine.dialect.name).uses_latest_index:
        # DuckDB and ClickHouse do not create it; ClickHouse sorts the table that way instead
        if not capabilities_for(engine.dialect.name).enforces_constraints:
            assert sorting_key(engine, "video") == "sample_uid, metaxy_created_at"
    else:
        reflected = {i["name"]: i["column_names"] for i in sa.inspect(engine).get_indexes("video")}
        assert reflected["ix_video_metaxy_latest"] == ["sample_uid", "metaxy_created_at"]


def test_created_at_is_timezone_aware(engine: sa.Engine, pipeline: VideoPipeline) -> None:
    column = table_of(pipeline.video).c.metaxy_created_at
    assert isinstance(column.type, sa.TypeDecorator)
    assert isinstance(column.type.impl, sa.DateTime)
    assert column.type.impl.timezone is True
    if engine.dialect.name == "postgresql":
        reflected = {c["name"]: c["type"] for c in sa.inspect(engine).get_columns("video")}
        assert reflected["metaxy_created_at"].timezone is True  # type: ignore[attr-defined]
    if engine.dialect.name == "duckdb":
        data_type = query(
            engine,
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_name = 'video' AND column_name = 'metaxy_created_at'",
        )
        assert data_type == ["TIMESTAMP WITH TIME ZONE"]


def test_created_at_round_trips_as_aware_utc(engine: sa.Engine, pipeline: VideoPipeline) -> None:
    written = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone(timedelta(hours=2)))
    with Session(engine) as session:
        session.add(row(pipeline.video, written))
        session.commit()
    with Session(engine) as session:
        read = session.exec(select(pipeline.video)).one().metaxy_created_at  # type: ignore[attr-defined]
    assert isinstance(read, datetime)
    assert read.utcoffset() == timedelta(0)
    assert read == written
    assert read.replace(tzinfo=None) == datetime(2024, 5, 6, 5, 8, 9, 123456)


def test_naive_created_at_is_refused(engine: sa.Engine, pipeline: VideoPipeline) -> None:
    with Session(engine) as session:
        session.add(row(pipeline.video, datetime(2024, 5, 6, 7, 8, 9)))
        with pytest.raises(sa.exc.StatementError, match="timezone"):
            session.commit()


def test_tablename_override(engine: sa.Engine) -> None:
    class Video(
        mx.Feature, table=True, spec=mx.FeatureSpec(key="example/video", id_columns=["sample_uid"])
    ):
        __tablename__ = "my_videos"
        sample_uid: str

    table = table_of(Video)
    assert table.name == "my_videos"
    assert "example__video" not in SQLModel.metadata.tables
    assert {i.name for i in table.indexes} == {"ix_my_videos_metaxy_latest"}
    SQLModel.metadata.create_all(engine)
    names = sa.inspect(engine).get_table_names()
    assert "my_videos" in names
    assert "example__video" not in names


def test_default_table_name_joins_key_parts(engine: sa.Engine) -> None:
    class Video(
        mx.Feature, table=True, spec=mx.FeatureSpec(key="example/video", id_columns=["sample_uid"])
    ):
        sample_uid: str

    assert table_of(Video).name == "example__video"
    SQLModel.metadata.create_all(engine)
    assert "example__video" in sa.inspect(engine).get_table_names()


def test_table_args_dict_is_merged(engine: sa.Engine) -> None:
    class Video(
        mx.Feature, table=True, spec=mx.FeatureSpec(key="video", id_columns=["sample_uid"])
    ):
        __table_args__ = {"comment": "raw videos"}
        sample_uid: str

    table = table_of(Video)
    assert table.comment == "raw videos"
    assert [c.name for c in table.primary_key.columns] == PRIMARY_KEY
    assert "ix_video_metaxy_latest" in {i.name for i in table.indexes}
    SQLModel.metadata.create_all(engine)
    if engine.dialect.name == "postgresql":
        assert sa.inspect(engine).get_table_comment("video")["text"] == "raw videos"


@pytest.mark.parametrize("with_kwargs", [False, True], ids=["constraints", "constraints+dict"])
def test_table_args_tuple_is_merged(engine: sa.Engine, with_kwargs: bool) -> None:
    user_args: tuple[Any, ...] = (
        sa.UniqueConstraint("sample_uid", "path", "metaxy_created_at", name="uq_video_path"),
        sa.Index("ix_video_path", "path"),
    )
    if with_kwargs:
        user_args = (*user_args, {"comment": "raw videos"})

    class Video(
        mx.Feature, table=True, spec=mx.FeatureSpec(key="video", id_columns=["sample_uid"])
    ):
        __table_args__ = user_args
        sample_uid: str
        path: str | None = None

    table = table_of(Video)
    assert [c.name for c in table.primary_key.columns] == PRIMARY_KEY
    assert {i.name for i in table.indexes} == {"ix_video_path", "ix_video_metaxy_latest"}
    assert "uq_video_path" in {c.name for c in table.constraints}
    assert table.comment == ("raw videos" if with_kwargs else None)
    SQLModel.metadata.create_all(engine)
    if not capabilities_for(engine.dialect.name).enforces_constraints:
        # ClickHouse: the index becomes a data-skipping index; no key or unique constraint
        assert query(
            engine,
            "SELECT name FROM system.data_skipping_indices "
            "WHERE table = 'video' AND database = currentDatabase()",
        ) == ["ix_video_path"]
    elif engine.dialect.name != "duckdb":
        inspector = sa.inspect(engine)
        expected = {"ix_video_path"}
        if capabilities_for(engine.dialect.name).uses_latest_index:
            expected.add("ix_video_metaxy_latest")
        assert expected <= {i["name"] for i in inspector.get_indexes("video")}
        assert inspector.get_pk_constraint("video")["constrained_columns"] == PRIMARY_KEY


def test_long_keys_get_short_distinct_constraint_names(engine: sa.Engine) -> None:
    """Generated names fit PostgreSQL's 63-character identifiers and stay distinct."""
    prefix = "p" * 60  # table names of exactly 63 characters: '<prefix>__a', '<prefix>__b'

    class A(mx.Feature, table=True, spec=mx.FeatureSpec(key=[prefix, "a"], id_columns=["uid"])):
        uid: str

    class B(mx.Feature, table=True, spec=mx.FeatureSpec(key=[prefix, "b"], id_columns=["uid"])):
        uid: str

    names = set()
    for feature in (A, B):
        table = table_of(feature)
        assert len(table.name) == 63
        generated = [table.primary_key.name, *(i.name for i in table.indexes)]
        assert all(isinstance(n, str) and len(n) <= 63 for n in generated), generated
        names.update(generated)
    assert len(names) == 4
    SQLModel.metadata.create_all(engine)
    assert {table_of(A).name, table_of(B).name} <= set(sa.inspect(engine).get_table_names())
