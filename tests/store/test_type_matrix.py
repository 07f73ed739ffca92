"""Type fidelity: every value reads back exactly, or its batch is refused before any write.

One matrix: column type x backend x edge values. Each value is written with ``store.write`` as
a SQLModel user would (a list of dicts), then read back through ``store.read`` (a Polars frame)
and ``mx.latest`` (ORM objects in a Session). A value the backend cannot hold exactly must be
refused with :class:`~metaxy_orm.InvalidRowsError` naming the column and the sample, and nothing
may be written; the refusals expected per backend are listed in :data:`REFUSED`.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
import struct
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import NaiveDatetime
from sqlmodel import Field, Session, SQLModel

import metaxy_orm as mx

PROVENANCE = "metaxy_provenance__default"
UTC = dt.UTC
PLUS_0530 = dt.timezone(dt.timedelta(hours=5, minutes=30))


class Color(enum.Enum):
    RED = "r"
    GREEN = "g"


class Size(str, enum.Enum):  # noqa: UP042 - the (str, Enum) form users write
    SMALL = "s"
    LARGE = "l"


@dataclass
class Case:
    """One column type and the values written into it (``None`` is always added)."""

    annotation: Any
    values: list[Any]
    field_kwargs: dict[str, Any] = field(default_factory=dict)
    #: backend -> indexes of ``values`` that backend must refuse ("*": every backend)
    refused: dict[str, set[int]] = field(default_factory=dict)


def _refused(case: Case, backend: str) -> set[int]:
    return case.refused.get("*", set()) | case.refused.get(backend, set())


NAN, INF = float("nan"), float("inf")
LONG_TEXT = "long " * 40_000  # 200 kB
UNICODE = "é漢字🎉\u200b\U0010ffff"

CASES: dict[str, Case] = {
    "int": Case(int, [0, -1, 2**31, -(2**31) - 1, 2**63 - 1, -(2**63)]),
    "int_sa_integer": Case(
        int,
        [2**31 - 1, -(2**31), 2**31, -(2**31) - 1],
        {"sa_type": sa.Integer},
        refused={"*": {2, 3}},
    ),
    "float": Case(
        float,
        [0.1, 16777217.0, -0.0, NAN, INF, -INF, 1.7976931348623157e308, 5e-324],
        # SQLite turns NaN into NULL and -0.0 into 0.0
        refused={"sqlite": {2, 3}},
    ),
    "float_sa_float": Case(
        float,
        [0.5, 0.1, 16777217.0],
        {"sa_type": sa.Float},
        # DuckDB's FLOAT is 32-bit: 0.1 and 2**24+1 would change
        refused={"duckdb": {1, 2}},
    ),
    "bool": Case(bool, [True, False]),
    # \N is PostgreSQL's NULL in COPY's text format; \r, \t, \n and \\ are escaped there
    "str": Case(str, ["", "plain", UNICODE, LONG_TEXT, 'it\'s "q" ;--\n\t\\', "\\N", "a\r\nb"]),
    # PostgreSQL text cannot hold NUL
    "str_nul": Case(str, ["a\x00b"], refused={"postgresql": {0}}),
    "str_max_length": Case(
        str, ["x" * 10, "é" * 10, "x" * 11], {"max_length": 10}, refused={"*": {2}}
    ),
    # ClickHouse: bytes, times and UUIDs do not come back as written (refused_kinds), and a
    # date is a Date32 (1900-01-01 to 2299-12-31)
    "bytes": Case(
        bytes,
        [b"", b"\x00", bytes(range(256)), b"\xff" * 100_000],
        refused={"clickhouse": {0, 1, 2, 3}},
    ),
    "decimal": Case(
        Decimal,
        [
            *(Decimal("1.23"), Decimal("-99999999.99"), Decimal("0.00")),
            *(Decimal("1.234"), Decimal("123456789.00"), Decimal("NaN")),
        ],
        {"max_digits": 10, "decimal_places": 2},
        refused={"*": {3, 4, 5}},
    ),
    "date": Case(
        dt.date,
        [dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.date(1970, 1, 1), dt.date(2024, 2, 29)],
        refused={"clickhouse": {0, 1}},
    ),
    "datetime_aware": Case(
        dt.datetime,
        [
            dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
            dt.datetime(2024, 6, 30, 23, 59, 59, 999999, tzinfo=PLUS_0530),
            dt.datetime(1970, 1, 1, tzinfo=UTC),
            dt.datetime(2024, 1, 2, 3, 4, 5),  # naive: the column type refuses it on the ORM path
        ],
        refused={"*": {3}},
    ),
    "datetime_naive": Case(
        NaiveDatetime,
        [
            dt.datetime(2024, 1, 2, 3, 4, 5, 123456),
            dt.datetime(1900, 1, 1),
            dt.datetime(2024, 1, 2, tzinfo=UTC),  # aware into a naive column: ambiguous
        ],
        refused={"*": {2}},
    ),
    "time": Case(
        dt.time,
        [dt.time(0), dt.time(23, 59, 59, 999999), dt.time(12, 30, 1, 5)],
        refused={"clickhouse": {0, 1, 2}},
    ),
    "uuid": Case(
        uuid.UUID,
        [uuid.UUID(int=0), uuid.UUID(int=2**128 - 1), uuid.uuid4()],
        refused={"clickhouse": {0, 1, 2}},
    ),
    "enum": Case(Color, [Color.RED, Color.GREEN]),
    "str_enum": Case(Size, [Size.SMALL, Size.LARGE]),
    "json_list": Case(
        list[Any],
        [[], [1, "a", None, 1.5, True], [{"k": [1, 2]}], [UNICODE, "a\x00b"], ["x" * 10_000]],
        {"sa_type": sa.JSON},
    ),
    "json_dict": Case(
        dict[str, Any],
        [{}, {"a": 1, "b": [1, 2], "c": None}, {"z": 1, "a": 2}, {"k": UNICODE, "n": 2**53}],
        {"sa_type": sa.JSON},
    ),
}


def _define(name: str, case: Case) -> type[mx.Feature]:
    annotation = case.annotation | None
    namespace: dict[str, Any] = {
        "__annotations__": {"sample_uid": str, "value": annotation},
        "value": Field(default=None, **case.field_kwargs),
    }
    spec = mx.FeatureSpec(key=f"matrix_{name}", id_columns=["sample_uid"])
    return type(f"Matrix_{name}", (mx.Feature,), namespace, table=True, spec=spec)


def _same(written: Any, read: Any) -> bool:
    """Exact equality: floats bit for bit (any NaN is a NaN), datetimes with their offset."""
    if isinstance(written, float) and isinstance(read, float):
        if math.isnan(written):
            return math.isnan(read)
        return struct.pack("<d", written) == struct.pack("<d", read)
    if isinstance(written, dt.datetime) and isinstance(read, dt.datetime):
        if (written.tzinfo is None) != (read.tzinfo is None):
            return False
        return written == read
    if isinstance(written, Decimal) and isinstance(read, Decimal):
        return written == read
    return type(written) is type(read) and written == read


def _from_frame(case: Case, value: Any) -> Any:
    """A value of ``store.read``'s frame in the Python type that was written (documented forms)."""
    if value is None:
        return None
    if case.field_kwargs.get("sa_type") is sa.JSON:
        return json.loads(value)  # JSON columns read back as JSON text
    if case.annotation is uuid.UUID:
        return uuid.UUID(value)  # UUIDs read back as their canonical text
    if isinstance(case.annotation, type) and issubclass(case.annotation, enum.Enum):
        return case.annotation[value]  # enums read back as the member name SQLAlchemy stores
    return value


def _rows(values: list[Any], indexes: list[int]) -> list[dict[str, Any]]:
    return [{"sample_uid": f"s{i:02d}", PROVENANCE: f"p{i}", "value": values[i]} for i in indexes]


@pytest.mark.parametrize("name", list(CASES))
def test_type_matrix(backend: str, engine: sa.Engine, name: str) -> None:
    case = CASES[name]
    values = [*case.values, None]
    feature = _define(name, case)
    SQLModel.metadata.create_all(engine)
    store = mx.MetadataStore(engine)
    refused = _refused(case, backend)

    for i in sorted(refused):
        with pytest.raises(mx.InvalidRowsError) as info:
            store.write(feature, _rows(values, [i]))
        message = str(info.value)
        assert "'value'" in message, message
        assert f"s{i:02d}" in message, message
        assert "nothing was written" in message
    assert store.read(feature, history=True).is_empty()

    kept = [i for i in range(len(values)) if i not in refused]
    assert store.write(feature, _rows(values, kept)) == len(kept)

    frame = store.read(feature)
    assert frame["sample_uid"].to_list() == [f"s{i:02d}" for i in kept]
    for i, read in zip(kept, frame["value"].to_list(), strict=True):
        got = _from_frame(case, read)
        assert _same(values[i], got), f"store.read: wrote {values[i]!r}, read {got!r}"

    with Session(engine) as session:
        objects = session.exec(mx.latest(feature)).all()
        by_uid = {o.sample_uid: o.value for o in objects}  # type: ignore[attr-defined]
    assert sorted(by_uid) == [f"s{i:02d}" for i in kept]
    for i in kept:
        got = by_uid[f"s{i:02d}"]
        assert _same(values[i], got), f"mx.latest: wrote {values[i]!r}, read {got!r}"
