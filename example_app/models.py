"""Pydantic models of the API, built from each feature's table: what clients send and receive.

A feature's *row* model has its id columns (required) and the user's own columns; system
columns (``metaxy_*``) stay out of responses unless a client asks for them (``system=true``).
A *result* model (what a worker posts) adds the ``metaxy_provenance__<field>`` columns the worker
got from the pending work, and the optional ``metaxy_data_version__<field>`` overrides.
"""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, create_model

import metaxy_orm as mx
from metaxy_orm.columns import RESERVED_PREFIX, data_version_column, provenance_column


def _python_type(feature: type[mx.Feature], column: sa.Column[Any]) -> Any:
    """The annotation the user wrote on the class, else the column type's Python type."""
    declared = feature.model_fields.get(column.name)
    if declared is not None and declared.annotation is not None:
        return declared.annotation
    try:
        return column.type.python_type
    except NotImplementedError:  # pragma: no cover - exotic user types
        return Any


def user_columns(feature: type[mx.Feature]) -> list[sa.Column[Any]]:
    """The feature's own columns: id columns and the user's metadata, no system column."""
    table: sa.Table = feature.__table__  # type: ignore[attr-defined]
    return [c for c in table.c if not c.name.startswith(RESERVED_PREFIX)]


def _fields(feature: type[mx.Feature]) -> dict[str, Any]:
    ids = set(feature.feature_spec().id_columns)
    fields: dict[str, Any] = {}
    for column in user_columns(feature):
        kind = _python_type(feature, column)
        fields[column.name] = (kind, ...) if column.name in ids else (kind | None, None)
    return fields


def _name(feature: type[mx.Feature], suffix: str) -> str:
    return (
        "".join(p.title() for p in str(feature.feature_key()).replace("/", "_").split("_")) + suffix
    )


def row_model(feature: type[mx.Feature]) -> type[BaseModel]:
    """A latest row as clients see it; ``system`` holds the metaxy columns when asked for."""
    return create_model(
        _name(feature, "Row"),
        __config__=ConfigDict(extra="forbid"),
        **_fields(feature),
        system=(dict[str, Any] | None, Field(None, description="metaxy_* columns (system=true)")),
    )


def result_model(feature: type[mx.Feature]) -> type[BaseModel]:
    """One computed row a worker posts: its columns and the provenance it was handed."""
    fields = _fields(feature)
    for key in sorted(feature.feature_spec().field_keys, key=str):
        fields[provenance_column(key)] = (
            str,
            Field(..., min_length=1, description=f"from the pending work of field '{key}'"),
        )
        fields[data_version_column(key)] = (
            str | None,
            Field(None, min_length=1, description="optional: skip needless downstream work"),
        )
    return create_model(_name(feature, "Result"), __config__=ConfigDict(extra="forbid"), **fields)


class Written(BaseModel):
    feature: str
    written: int


class IngestAnswer(BaseModel):
    feature: str
    mode: Literal["merge", "replace"]
    new: int
    stale: int
    orphaned: int = Field(description="stored samples missing from the batch (mode=replace only)")
    written: int


class PendingItem(BaseModel):
    """One sample to (re)compute: what a worker needs to compute it and post the result."""

    ids: dict[str, Any]
    status: Literal["new", "stale"]
    changed_fields: list[str] = Field(
        description="fields to recompute: all for a new sample, those whose inputs changed "
        "for a stale one"
    )
    provenance: dict[str, str] = Field(description="metaxy_provenance__<field> to post back")
    upstream: dict[str, Any] = Field(
        default_factory=dict, description="FeatureDep(select=) columns"
    )


class PendingPage(BaseModel):
    feature: str
    total: int
    limit: int
    offset: int
    items: list[PendingItem]


class StatusItem(BaseModel):
    feature: str
    rows: int
    samples: int
    new: int | None
    stale: int | None
    orphaned: int | None
    is_root: bool
    in_sync: bool | None
    state: Literal["root", "in_sync", "new", "stale", "orphaned"]


class FieldInfo(BaseModel):
    key: str
    code_version: str
    version: str
    deps: list[str] = Field(description="upstream '<feature>.<field>'")


class FeatureInfo(BaseModel):
    key: str
    version: str
    id_columns: list[str]
    deps: list[str]
    fields: list[FieldInfo]
    columns: list[str]


class FieldEdgeModel(BaseModel):
    parent: str
    parent_field: str
    child: str
    child_field: str


class GraphModel(BaseModel):
    snapshot_version: str
    features: list[FeatureInfo]
    field_edges: list[FieldEdgeModel]


class FieldChangeModel(BaseModel):
    field: str
    old_version: str | None
    new_version: str | None
    old_code_version: str | None
    new_code_version: str | None
    description: str


class FeatureChangeModel(BaseModel):
    feature: str
    old_version: str | None
    new_version: str | None
    spec_changed: bool
    fields: list[FieldChangeModel]
    description: list[str]


class DiffModel(BaseModel):
    recorded_snapshot_version: str | None
    code_snapshot_version: str
    changed: bool
    features: list[FeatureChangeModel]


class Recorded(BaseModel):
    snapshot_version: str
    recorded: bool
