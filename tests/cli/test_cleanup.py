"""``mxo cleanup``: counts first, asks, deletes exactly what MetadataStore.cleanup deletes."""

from __future__ import annotations

import json

import sqlalchemy as sa

from .conftest import Mxo, fill


def rows(database_url: str, table: str) -> int:
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        count = int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    engine.dispose()
    return count


def test_dry_run_counts_and_deletes_nothing(mxo: Mxo, database_url: str) -> None:
    fill(database_url, n=5, edited=frozenset({0, 3}))  # video: 7 rows, 2 of them superseded
    result = mxo("cleanup", "video", "--keep-last", "1", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document == {
        "feature": "video",
        "keep_last": 1,
        "rows": 7,
        "rows_to_delete": 2,
        "dry_run": True,
        "deleted": 0,
    }
    assert rows(database_url, "video") == 7
    assert (
        "would delete 2 of 7 row(s)"
        in mxo("cleanup", "video", "--keep-last", "1", "--dry-run").stdout
    )
    assert (
        json.loads(mxo("cleanup", "video", "--keep-last", "2", "--dry-run", "--json").stdout)[
            "rows_to_delete"
        ]
        == 0
    )


def test_confirmation(mxo: Mxo, database_url: str) -> None:
    fill(database_url, n=4, edited=frozenset({1}))
    refused = mxo("cleanup", "video", "--keep-last", "1", input="n\n")
    assert refused.exit_code == 1
    assert "Delete 1 of 5 row(s) of 'video'" in refused.stderr
    assert rows(database_url, "video") == 5
    accepted = mxo("cleanup", "video", "--keep-last", "1", input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert "deleted 1 row(s)" in accepted.stdout
    assert rows(database_url, "video") == 4
    nothing = mxo("cleanup", "video", "--keep-last", "1")
    assert nothing.exit_code == 0
    assert "nothing to delete" in nothing.stdout


def test_yes_skips_the_prompt(mxo: Mxo, database_url: str) -> None:
    fill(database_url, n=3, edited=frozenset({0, 1, 2}))
    result = mxo("cleanup", "video", "--keep-last", "1", "--yes", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["deleted"] == 3
    assert rows(database_url, "video") == 3
    assert mxo("cleanup", "video", "--keep-last", "0").exit_code == 2
