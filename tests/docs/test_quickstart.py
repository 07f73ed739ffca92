"""The demo output shown on the quick-start page is what ``python -m example_app.demo`` prints."""

from __future__ import annotations

import contextlib
import io

from example_app import demo

from .markdown import ROOT

SNIPPET = ROOT / "docs" / "snippets" / "demo_output.txt"


def test_quick_start_shows_the_demo_output() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert demo.main([]) == 0
    assert SNIPPET.read_text(encoding="utf-8") == out.getvalue(), (
        "the demo's output changed: python -m example_app.demo > docs/snippets/demo_output.txt"
    )
    assert '--8<-- "docs/snippets/demo_output.txt"' in (ROOT / "docs" / "quickstart.md").read_text()
