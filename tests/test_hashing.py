"""Row hashing: the SQL constructs on every backend and the Polars twin, against hashlib."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator

import polars as pl
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metaxy_orm.exceptions import UnsupportedHashAlgorithmError
from metaxy_orm.hashing import (
    HashAlgorithm,
    parse_algorithm,
    polars_hash_parts,
    sql_hash_parts,
    sql_hash_text,
    sql_join_parts,
)

SQL_ALGORITHMS = [HashAlgorithm.MD5, HashAlgorithm.SHA256]
TRUNCATIONS = [8, 32, 64]
ROWS = [
    ("sample-1", "9f86d081", "a"),
    ("", "", ""),
    ("héllo wörld", "日本語のテキスト", "emoji 🎬🎧"),
    ("with|pipe", "tab\tand\nnewline", "quote ' and \""),
]


def _hexdigest(name: str) -> Callable[[str | None], str | None]:
    def digest(text: str | None) -> str | None:
        return None if text is None else hashlib.new(name, text.encode("utf-8")).hexdigest()

    return digest


def register_sqlite_functions(engine: sa.Engine) -> None:
    """What a store does on SQLite: md5/sha256 as Python functions on each raw connection."""

    @sa.event.listens_for(engine, "connect")
    def _register(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        for name in ("md5", "sha256"):
            dbapi_connection.create_function(name, 1, _hexdigest(name), deterministic=True)


@pytest.fixture
def hash_engine(engine: sa.Engine) -> sa.Engine:
    if engine.dialect.name == "sqlite":
        register_sqlite_functions(engine)
    return engine


@pytest.fixture
def samples(hash_engine: sa.Engine) -> Iterator[sa.Table]:
    metadata = sa.MetaData()
    table = sa.Table(
        "hash_samples",
        metadata,
        sa.Column("n", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("a", sa.String, nullable=True),
        sa.Column("b", sa.String, nullable=True),
        sa.Column("c", sa.String, nullable=True),
    )
    metadata.create_all(hash_engine)
    with hash_engine.begin() as conn:
        conn.execute(
            table.insert(), [{"n": n, "a": a, "b": b, "c": c} for n, (a, b, c) in enumerate(ROWS)]
        )
    yield table
    metadata.drop_all(hash_engine)


def expected(parts: list[str], algorithm: HashAlgorithm, truncation: int) -> str:
    return hashlib.new(algorithm.value, "|".join(parts).encode("utf-8")).hexdigest()[:truncation]


# -- SQL -----------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", SQL_ALGORITHMS)
@pytest.mark.parametrize("truncation", TRUNCATIONS)
def test_sql_hash_of_columns_and_literals(
    hash_engine: sa.Engine, samples: sa.Table, algorithm: HashAlgorithm, truncation: int
) -> None:
    c = samples.c
    query = sa.select(
        c.n, sql_hash_parts([c.a, "lit", c.b, "ü|", c.c], algorithm, truncation)
    ).order_by(c.n)
    with hash_engine.connect() as conn:
        got = dict(conn.execute(query).tuples().all())
    want = {
        n: expected([a, "lit", b, "ü|", c], algorithm, truncation)
        for n, (a, b, c) in enumerate(ROWS)
    }
    assert got == want
    full = 32 if algorithm is HashAlgorithm.MD5 else 64
    assert {len(v) for v in got.values()} == {min(truncation, full)}


@pytest.mark.parametrize("algorithm", SQL_ALGORITHMS)
@pytest.mark.parametrize("truncation", TRUNCATIONS)
def test_sql_hash_of_unicode_literals(
    hash_engine: sa.Engine, algorithm: HashAlgorithm, truncation: int
) -> None:
    parts = ["vidéo", "音声", "🎬", ""]
    bound = [sa.literal(p, sa.String()) for p in parts]
    with hash_engine.connect() as conn:
        merged = conn.execute(sa.select(sql_hash_parts(parts, algorithm, truncation))).scalar_one()
        joined = conn.execute(sa.select(sql_hash_parts(bound, algorithm, truncation))).scalar_one()
    assert merged == joined == expected(parts, algorithm, truncation)


def test_sql_truncation_is_part_of_the_statement(hash_engine: sa.Engine, samples: sa.Table) -> None:
    """Same construct, other lengths, one connection: the compiled-statement cache must not mix."""
    with hash_engine.connect() as conn:
        for truncation in (8, 12, 8, 20):
            value = conn.execute(
                sa.select(sql_hash_parts([samples.c.a], HashAlgorithm.MD5, truncation)).where(
                    samples.c.n == 0
                )
            ).scalar_one()
            assert value == expected(["sample-1"], HashAlgorithm.MD5, truncation)


def test_sql_null_part_gives_null(hash_engine: sa.Engine, samples: sa.Table) -> None:
    with hash_engine.begin() as conn:
        conn.execute(samples.insert(), {"n": 99, "a": "x", "b": None, "c": "z"})
        row = conn.execute(
            sa.select(
                sql_hash_parts([samples.c.a, samples.c.b], HashAlgorithm.MD5, 8),
                sql_hash_parts(
                    [samples.c.a, sa.func.coalesce(samples.c.b, "\\N")], HashAlgorithm.MD5, 8
                ),
            ).where(samples.c.n == 99)
        ).one()
    assert row[0] is None
    assert row[1] == expected(["x", "\\N"], HashAlgorithm.MD5, 8)


def test_sql_rejects_what_it_cannot_compute() -> None:
    with pytest.raises(UnsupportedHashAlgorithmError, match="xxhash64"):
        sql_hash_parts(["a"], HashAlgorithm.XXHASH64, 8)
    with pytest.raises(ValueError, match="empty"):
        sql_join_parts([])
    for bad in (7, 65):
        with pytest.raises(ValueError, match="hash_truncation_length"):
            sql_hash_text(sa.literal("a"), HashAlgorithm.MD5, bad)


# -- Polars --------------------------------------------------------------------------------


def polars_hash(rows: list[list[str]], algorithm: HashAlgorithm, truncation: int) -> list[str]:
    width = len(rows[0])
    frame = pl.DataFrame(
        {f"p{i}": [row[i] for row in rows] for i in range(width)},
        schema={f"p{i}": pl.String for i in range(width)},
    )
    expr = polars_hash_parts([pl.col(f"p{i}") for i in range(width)], algorithm, truncation)
    return frame.select(expr.alias("h"))["h"].to_list()


def reference(parts: list[str], algorithm: HashAlgorithm, truncation: int) -> str:
    data = "|".join(parts).encode("utf-8")
    if algorithm in (HashAlgorithm.MD5, HashAlgorithm.SHA256):
        return hashlib.new(algorithm.value, data).hexdigest()[:truncation]
    xxhash = pytest.importorskip("xxhash")
    integer: int = {
        HashAlgorithm.XXHASH32: xxhash.xxh32_intdigest,
        HashAlgorithm.XXHASH64: xxhash.xxh64_intdigest,
        HashAlgorithm.XXH3_64: xxhash.xxh3_64_intdigest,
    }[algorithm](data)
    return str(integer)[:truncation]


@pytest.mark.parametrize("algorithm", list(HashAlgorithm))
@pytest.mark.parametrize("truncation", [8, 13, 32, 64])
def test_polars_matches_reference(algorithm: HashAlgorithm, truncation: int) -> None:
    rows = [list(row) for row in ROWS]
    want = [reference(row, algorithm, truncation) for row in rows]
    assert polars_hash(rows, algorithm, truncation) == want


def test_polars_literals_and_columns_mix() -> None:
    frame = pl.DataFrame({"a": ["x", "é"]})
    got = frame.select(polars_hash_parts(["audio", pl.col("a"), "1"], HashAlgorithm.MD5, 8))
    assert got.to_series().to_list() == [
        expected(["audio", "x", "1"], HashAlgorithm.MD5, 8),
        expected(["audio", "é", "1"], HashAlgorithm.MD5, 8),
    ]


def test_xxhash_text_form_is_unpadded_decimal() -> None:
    xxhash = pytest.importorskip("xxhash")
    # Find an input whose xxhash32 is short in decimal, to catch zero padding.
    text = next(
        s for s in (f"s{i}" for i in range(100_000)) if xxhash.xxh32_intdigest(s.encode()) < 10**9
    )
    got = polars_hash([[text]], HashAlgorithm.XXHASH32, 64)
    assert got == [str(xxhash.xxh32_intdigest(text.encode()))]
    assert len(got[0]) < 10


def test_polars_null_part_gives_null() -> None:
    frame = pl.DataFrame({"a": ["x"], "b": [None]}, schema={"a": pl.String, "b": pl.String})
    got = frame.select(polars_hash_parts([pl.col("a"), pl.col("b")], HashAlgorithm.MD5, 8))
    assert got.to_series().to_list() == [None]


def test_polars_rejects_bad_truncation() -> None:
    for bad in (7, 65):
        with pytest.raises(ValueError, match="hash_truncation_length"):
            polars_hash_parts([pl.col("a")], HashAlgorithm.MD5, bad)


# -- property: Polars == hashlib == DuckDB --------------------------------------------------


@pytest.fixture(scope="module")
def duckdb_engine() -> Iterator[sa.Engine]:
    pytest.importorskip("duckdb_engine")
    engine = sa.create_engine("duckdb:///:memory:")
    yield engine
    engine.dispose()


# The autouse `graph` fixture is function-scoped but holds no state these examples touch.
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    parts=st.lists(st.text(alphabet=st.characters(codec="utf-8")), min_size=1, max_size=6),
    algorithm=st.sampled_from(SQL_ALGORITHMS),
    truncation=st.integers(min_value=8, max_value=64),
)
def test_random_parts_agree_everywhere(
    duckdb_engine: sa.Engine, parts: list[str], algorithm: HashAlgorithm, truncation: int
) -> None:
    want = expected(parts, algorithm, truncation)
    assert polars_hash([parts], algorithm, truncation) == [want]
    bound = [sa.literal(p, sa.String()) for p in parts]
    with duckdb_engine.connect() as conn:
        got = conn.execute(sa.select(sql_hash_parts(bound, algorithm, truncation))).scalar_one()
    assert got == want


# -- algorithm names -----------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", list(HashAlgorithm))
def test_parse_algorithm_accepts_every_name(algorithm: HashAlgorithm) -> None:
    assert parse_algorithm(algorithm.value) is algorithm
    assert parse_algorithm(algorithm) is algorithm


@pytest.mark.parametrize("bad", ["crc32", "sha1", "", "md-5"])
def test_parse_algorithm_names_the_bad_algorithm(bad: str) -> None:
    with pytest.raises(UnsupportedHashAlgorithmError) as info:
        parse_algorithm(bad)
    message = str(info.value)
    assert repr(bad) in message
    assert "md5, sha256, xxhash32, xxhash64, xxh3_64" in message
    assert isinstance(info.value, ValueError)
