"""A real browser against the real app: a threaded server on a free loopback port and Chromium."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.helpers import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"


class LiveServer:
    """The app served by werkzeug in a thread (threaded, so SSE and polling overlap)."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


def chromium_or_skip():
    """Playwright's sync API, or a skip that says what is missing."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip(f"Chromium not found at {CHROMIUM}: install Debian's chromium package to run browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: pip install -r requirements-dev.txt")
    return sync_playwright


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/screenshots/ (gitignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def open_by_click(page, target) -> None:
    """Click what leads to another page and wait for that page's load event.

    A click returns once the new page has started loading: its elements can be visible, and
    clicked, before its deferred scripts (htmx, app.js) have bound them, and a form clicked then
    posts as a plain page (a loaded CI did exactly that). By the load event they have run."""
    with page.expect_navigation(wait_until="load"):
        target.click() if hasattr(target, "click") else page.click(target)


def wait_for_htmx(page, selector: str) -> None:
    """Until htmx has bound the element (it keeps its state on the element once it has)."""
    page.wait_for_function(f"() => 'htmx-internal-data' in (document.querySelector({selector!r}) || {{}})")


@pytest.fixture
def live_server(app):
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def browser():
    sync_playwright = chromium_or_skip()
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()
