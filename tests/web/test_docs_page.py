"""/docs: the API reference from vendored Swagger UI, under the app's CSP, rendering every operation."""

from __future__ import annotations

import hashlib
import re

import pytest

from tests.helpers import ROOT
from tests.web.live import CHROMIUM, CHROMIUM_ARGS, LiveServer, chromium_or_skip, screenshot

pytestmark = pytest.mark.sqlite_only
VENDOR = ROOT / "static" / "vendor" / "swagger-ui"


def test_docs_page_and_its_assets_come_from_this_origin(client):
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert all(s.startswith("/") for s in sources), sources  # no CDN, nothing off this origin
    assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", html)  # no inline script
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe-eval" not in csp
    for src, kind in (
        ("/static/vendor/swagger-ui/swagger-ui-bundle.js", "javascript"),
        ("/static/vendor/swagger-ui/swagger-ui.css", "text/css"),
        ("/static/docs.js", "javascript"),
    ):
        assert src in sources
        asset = client.get(src)
        assert asset.status_code == 200 and kind in asset.content_type, src
        asset.close()
    assert 'data-spec="/api/v1/openapi.json"' in html
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_the_vendored_files_are_the_ones_recorded():
    """The VERSION file names the npm package and the checksum of each copied file; the licence ships with it."""
    version = (VENDOR / "VERSION").read_text()
    assert "swagger-ui-dist 5.36.0" in version
    assert "Apache License" in (VENDOR / "LICENSE").read_text()
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        digest = hashlib.sha256((VENDOR / name).read_bytes()).hexdigest()
        assert f"{digest}  {name}" in version, name


def test_the_browser_renders_every_operation_without_a_csp_violation(app, client):
    sync_playwright = chromium_or_skip()
    operations = sum(len(ops) for ops in client.get("/api/v1/openapi.json").get_json()["paths"].values())
    with LiveServer(app) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            outside: list[str] = []
            page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(server.url) else None)
            page.goto(f"{server.url}/docs")
            page.wait_for_selector(".opblock", timeout=20_000)
            rendered = page.locator(".opblock").count()
            tags = page.locator(".opblock-tag").all_inner_texts()
            screenshot(page, "docs")
            # Open one operation: its parameters and responses render.
            search = page.locator(".opblock-post", has=page.locator("[data-path='/api/v1/vector/search']")).first
            search.locator(".opblock-summary").first.click()
            search.locator(".responses-wrapper").wait_for(timeout=10_000)
            opened = search.inner_text()
        finally:
            browser.close()
    assert rendered == operations
    assert "top_k" in opened and "200" in opened
    assert any(t.strip().startswith("compatibility") for t in tags), tags
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
    assert outside == [] or all(u.startswith("data:") for u in outside), outside
