"""End to end: the app run as users run it (uvicorn, one command), its dashboard in Chromium.

Needs Debian's ``chromium`` (``/usr/bin/chromium``, installed by ``.ci/run``) and Playwright for
Python; no browser is downloaded. The screenshot lands in ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import missing_requirement
from tests.web.conftest import results_for, samples

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
N = 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """``python -m example_app.web`` on a free loopback port, over a fresh DuckDB file."""
    port = free_port()
    env = {**os.environ, "METAXY_ORM_DATABASE_URL": f"duckdb:///{tmp_path / 'app.duckdb'}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "example_app.web", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if process.poll() is not None:
                raise AssertionError(
                    f"the app exited: {process.stderr.read() if process.stderr else ''}"
                )
            try:
                if httpx.get(f"{base}/api/status").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.communicate(timeout=30)


def compute(base: str, feature: str) -> None:
    items = httpx.get(f"{base}/api/features/{feature}/pending", params={"limit": 1000}).json()
    rows = results_for(items["items"])
    if rows:
        assert httpx.post(f"{base}/api/features/{feature}/results", json=rows).status_code == 200


@pytest.mark.duckdb
def test_dashboard_shows_stale_features_after_an_audio_change(server: str, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        missing_requirement("Debian's chromium: `apt-get install -y chromium`")
    from playwright.sync_api import sync_playwright

    assert httpx.post(f"{server}/api/features/video/samples", json=samples(N)).status_code == 200
    for feature in ("crop", "face_detection", "stt"):
        compute(server, feature)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 760})
            page.goto(server)
            features = page.locator("svg#graph g.feature")
            assert sorted(features.evaluate_all("gs => gs.map(g => g.dataset.feature)")) == [
                "crop",
                "face_detection",
                "stt",
                "video",
            ]
            for key in ("crop", "face_detection", "stt"):
                assert (
                    page.locator(f'g.feature[data-feature="{key}"]').get_attribute("data-state")
                    == "in_sync"
                )

            edited = frozenset({3, 8, 13})
            changed = [r for i, r in enumerate(samples(N, edited)) if i in edited]
            answer = httpx.post(f"{server}/api/features/video/samples", json=changed).json()
            assert answer["stale"] == 3

            # no reload: the page polls the graph and redraws it
            crop = page.locator('g.feature[data-feature="crop"]')
            page.wait_for_function(
                "() => document.querySelector('g.feature[data-feature=\"crop\"]')"
                ".dataset.state === 'stale'",
                timeout=15_000,
            )
            assert "stale 3" in crop.locator("text.counts").text_content() or ""
            stt = page.locator('g.feature[data-feature="stt"]')
            assert stt.get_attribute("data-state") == "stale"
            assert "stale 3" in stt.locator("text.counts").text_content() or ""
            faces = page.locator('g.feature[data-feature="face_detection"]')
            assert faces.get_attribute("data-state") == "in_sync"
            assert "stale 0" in faces.locator("text.counts").text_content() or ""
            assert page.locator("svg#graph path.edge").count() == 4  # field-level edges

            ARTIFACTS.mkdir(exist_ok=True)
            shot = tmp_path / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
            shutil.copy(shot, ARTIFACTS / "dashboard.png")

            page.click('g.feature[data-feature="crop"] a')
            page.wait_for_url(f"{server}/features/crop")
            assert "Recently written (20 samples)" in page.inner_text("main")
            page.screenshot(path=str(ARTIFACTS / "feature-crop.png"), full_page=True)
        finally:
            browser.close()
