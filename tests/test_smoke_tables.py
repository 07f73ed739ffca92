from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import SQLModel

from example_app.pipeline import define_video_pipeline


def test_example_pipeline_tables_create(engine: sa.Engine) -> None:
    pipeline = define_video_pipeline()
    SQLModel.metadata.create_all(engine)
    names = set(sa.inspect(engine).get_table_names())
    assert {cls.__tablename__ for cls in pipeline} <= names
