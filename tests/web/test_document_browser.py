"""Documents in Debian's Chromium against the real app and a real worker: drop a PDF and a DOCX
on the session page, watch them complete in the documents list, open the report, see the
thumbnails and the outline, and open it at ?page=N scrolled to the highlighted page."""

from __future__ import annotations

import pytest

from backend_app.services import sessions
from backend_app.tenancy import Tenant
from tests import document_files as files
from tests.factories import make_user
from tests.web.live import screenshot
from tests.web.test_browser_journey import WATCH_CSP, csp_violations, log_in

pytestmark = [pytest.mark.sqlite_only, pytest.mark.timeout(300)]
LINE = "Photosynthesis turns light into sugar inside the leaves of green plants."


def test_documents_in_the_browser(app, live_server, browser, start_worker, tmp_path):
    start_worker(1)
    user = make_user(email="reader@example.test")
    session = sessions.create(Tenant(user.id), "Biology")
    pdf = tmp_path / "biology.pdf"
    pdf.write_bytes(files.pdf_with_text([f"{LINE} Page {n}." for n in range(1, 13)], outline={0: "Intro", 9: "Leaves"}))
    docx = tmp_path / "notes.docx"
    docx.write_bytes(files.docx([("Chapter 1", [LINE]), ("Chapter 2", [LINE])]))

    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live_server.url, user.email)
    page.goto(f"{live_server.url}/sessions/{session.id}")
    page.set_input_files("[data-testid=file-input]", [str(pdf), str(docx)])
    done = page.locator("#documents [data-document][data-status=completed]")
    done.nth(1).wait_for(timeout=120_000)
    assert page.locator("#analyses [data-document]").count() == 0  # listed under documents, not videos
    screenshot(page, "doc-01-session")
    item = page.locator("#documents [data-document]", has_text="biology.pdf")
    assert "12 pages" in item.locator("[data-testid=document-summary]").inner_text()

    item.locator("[data-testid=open-document]").click()
    page.locator("[data-testid=pages] article.doc-page").nth(11).wait_for()
    assert page.locator("[data-testid=outline] a").all_inner_texts() == ["Intro", "Leaves"]
    assert page.locator("img.doc-thumb").count() == 12
    # the first two are in view: they load (lazily, so waited for — the CI once read the second mid-load);
    # the ones below the fold may wait until scrolled to
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.doc-thumb')].slice(0, 2)"
        ".every((img) => img.complete && img.naturalWidth > 0)",
        timeout=15_000,
    )
    screenshot(page, "doc-02-report")

    page.goto(page.url.split("?")[0] + "?page=10")
    selected = page.locator("article.doc-page.selected")
    assert selected.get_attribute("data-page") == "10"
    top = selected.evaluate("e => e.getBoundingClientRect().top")
    assert 0 <= top < 200, top  # scrolled to the page asked for
    screenshot(page, "doc-03-page-10")
    assert csp_violations(page) == [] and errors == []
