"""ClickHouse-only tests run when the ``clickhouse`` test database is selected (``--backends``)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selected = {b.strip() for b in str(config.getoption("--backends")).split(",")}
    if "clickhouse" in selected:
        return
    mine = [item for item in items if item.get_closest_marker("clickhouse") is not None]
    mine = [item for item in mine if "tests/clickhouse/" in item.nodeid]
    if mine:
        config.hook.pytest_deselected(items=mine)
        items[:] = [item for item in items if item not in mine]
