"""docs/cli.md is generated from the CLI; this test fails when it is out of date."""

from __future__ import annotations

from pathlib import Path

from example_app.cli_docs import page

PAGE = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_cli_page_is_up_to_date() -> None:
    expected = page()
    assert PAGE.read_text(encoding="utf-8") == expected, (
        "docs/cli.md is out of date: run `python -m example_app.cli_docs --output docs/cli.md`"
    )
    for command in ("list", "graph render", "graph diff", "graph push", "graph history"):
        assert f"### `mxo {command}`" in expected or f"#### `mxo {command}`" in expected
    for command in ("status", "lookup", "check", "cleanup"):
        assert f"### `mxo {command}`" in expected
    assert expected.count("```mermaid") == 2
