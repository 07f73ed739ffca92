"""The harness itself: it finds every block a page shows, and a broken example fails it."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest

from .markdown import blocks, commands, python_blocks, run

PAGE = """\
# A page

```python
x = 1
```

- a list item with a block:

    ```python
    x += 1
    ```

!!! note
    ```py
    y = x * 10
    ```

```console
$ mxo status \\
    --assert-in-sync
some output
$ mxo list
```

```python
--8<-- "docs/snippets/example.py"
```

```text
not code
```
"""


@pytest.fixture
def page(tmp_path: Path) -> Path:
    path = tmp_path / "page.md"
    path.write_text(PAGE)
    return path


def test_finds_blocks_in_lists_and_admonitions(page: Path) -> None:
    found = python_blocks(page)
    assert [b.source.strip() for b in found] == ["x = 1", "x += 1", "y = x * 10"]
    assert [b.line for b in found] == [3, 9, 14]
    included = [b for b in blocks(page) if b.includes]
    assert included[0].includes == ["docs/snippets/example.py"]


def test_console_commands_join_continuation_lines(page: Path) -> None:
    assert [c for _, c in commands(page)] == ["mxo status --assert-in-sync", "mxo list"]


def test_blocks_share_one_namespace(page: Path) -> None:
    run(page)  # x is defined by the first block, used by the second and third


def test_a_failing_block_names_its_page_and_line(tmp_path: Path) -> None:
    page = tmp_path / "broken.md"
    page.write_text("# Broken\n\n```python\na = 1\nassert a == 2, 'wrong'\n```\n")
    with pytest.raises(AssertionError, match=r"broken\.md:3 failed") as info:
        run(page)
    frames = traceback.extract_tb(info.value.__cause__.__traceback__)
    assert (frames[-1].filename, frames[-1].lineno) == (str(page), 5)
