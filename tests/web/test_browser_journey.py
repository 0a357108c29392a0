"""The whole journey in Debian's Chromium, against the real app and a real worker.

sign up → create a session → upload a generated H.264 clip through the page → watch it
complete → open the report and see keyframes → ask the chat and click a citation →
evaluate a requirement → as admin, set the canary to 50 % and roll it back.
A screenshot of every page lands in test-artifacts/screenshots/.
"""

from __future__ import annotations

import re

import pytest

from tests.factories import PASSWORD, make_user
from tests.media import make_clip
from tests.web.live import open_by_click, screenshot

pytestmark = [pytest.mark.sqlite_only, pytest.mark.timeout(300)]


def sign_up(page, base: str, email: str) -> None:
    page.goto(f"{base}/register")
    screenshot(page, "01-register")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/sessions$"))


def create_session(page, name: str) -> None:
    page.fill("input[name=name]", name)
    page.click("form.create-session button[type=submit]")
    page.get_by_role("link", name=name).wait_for()
    screenshot(page, "02-sessions")
    page.get_by_role("link", name=name).click()
    page.wait_for_url(re.compile(r"/sessions/[0-9a-f]+$"))


def upload_clip(page, clip) -> None:
    """Choose the file in the drop zone: app.js PUTs it to the signed URL, then completes it."""
    page.set_input_files("[data-testid=file-input]", str(clip))
    item = page.locator("[data-analysis]").first
    item.wait_for(timeout=30_000)
    sent = page.get_attribute("#uploads", "data-last-sent-bytes")
    assert int(sent) == clip.stat().st_size  # the progress bar followed the real bytes sent
    screenshot(page, "04-uploaded")
    page.locator("[data-analysis][data-status=completed]").wait_for(timeout=120_000)
    screenshot(page, "05-completed")


def upload_broken_file(page, path) -> None:
    """A file that is not a video is listed at once, failed, with the reason and no Retry; a file
    refused before it is sent (empty) says why in a row the user can dismiss."""
    path.write_bytes(b"this is not a video at all " * 100)
    page.set_input_files("[data-testid=file-input]", str(path))
    item = page.locator("[data-analysis][data-status=failed]")
    item.wait_for(timeout=30_000)
    assert "UNSUPPORTED_FORMAT" in item.locator("[data-testid=failure]").inner_text()
    assert "upload it again" in item.inner_text()
    assert page.locator(".upload-row").count() == 0
    screenshot(page, "05b-failed-upload")
    empty = path.with_name("empty.mp4")
    empty.write_bytes(b"")
    page.set_input_files("[data-testid=file-input]", str(empty))
    refused = page.locator(".upload-row.failed")
    refused.wait_for(timeout=30_000)
    assert "empty" in refused.inner_text().lower()
    refused.locator("[data-testid=dismiss-upload]").click()
    page.wait_for_function("() => !document.querySelector('.upload-row')")


def open_report(page) -> str:
    open_by_click(page, "[data-testid=open-report]")
    page.locator("[data-testid=report-title]").wait_for()
    keyframes = page.locator("[data-testid=keyframe]")
    assert keyframes.count() >= 2  # the clip has a hard cut
    for n in range(keyframes.count()):  # keyframes load lazily: the shot list's as it scrolls into view
        keyframes.nth(n).scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=keyframe]')]"
        ".every((img) => img.complete && img.naturalWidth > 0)"
    )
    page.locator("[data-seek]").nth(1).click()
    page.wait_for_function("() => document.getElementById('player').currentTime >= 1")
    screenshot(page, "06-report")
    return page.url


def chat_and_follow_citation(page) -> None:
    open_by_click(page, page.get_by_role("navigation", name="breadcrumb").get_by_role("link", name="Browser journey"))
    open_by_click(page, "[data-testid=chat-session]")  # clicked before app.js binds it, Ask posts a page
    page.fill("[data-testid=chat-input]", "   ")  # passes the browser's check, refused by the server
    page.click("[data-testid=chat-send]")
    page.locator(".msg-assistant .error-box").wait_for()
    assert page.input_value("[data-testid=chat-input]") == "   "  # given back to edit, not lost
    page.fill("[data-testid=chat-input]", "Which shot is mostly green?")
    page.click("[data-testid=chat-send]")
    answer = page.locator(".msg-assistant[data-done='1']")
    answer.wait_for(timeout=30_000)
    citation = answer.locator("[data-testid=citation]").first
    assert "Shot 2 · 0:01.5–0:03" in citation.inner_text()  # the second shot, counted from 1 for people
    screenshot(page, "06b-chat")
    citation.click()
    page.wait_for_url(re.compile(r"/analyses/[0-9a-f]+\?t=[0-9.]+#shot-1$"))
    page.wait_for_function("() => document.querySelector(':target')?.id === 'shot-1'")
    assert page.locator("#shot-1").is_visible()
    start = float(page.locator("#shot-1 [data-seek]").get_attribute("data-seek"))
    assert start > 0  # the cited shot is not the first: the player really moved
    page.wait_for_function(f"() => Math.abs(document.getElementById('player').currentTime - {start}) < 0.05")


def evaluate_requirement(page, base: str) -> None:
    page.goto(f"{base}/requirements")
    page.fill("[data-testid=requirement-text]", "The system should respond quickly and be user-friendly.")
    page.click("[data-testid=check]")
    result = page.locator("[data-testid=requirement-result]")
    result.wait_for()
    assert result.locator("[data-testid=highlighted] mark").count() >= 2
    assert "served by v1" in result.locator("[data-testid=variant]").inner_text()
    screenshot(page, "07-requirement")


BATCH = """| id | requirementText | context |
|----|-----------------|---------|
| R1 | The 😀 system should respond quickly. | |
| R2 | The exporter shall write the monthly report as PDF within 5 s. | |
| R3 | It must be user-friendly and/or fast. | |
"""


def run_batch(page, base: str) -> None:
    page.goto(f"{base}/requirements")
    page.fill("[data-testid=batch-markdown]", BATCH)
    page.click("[data-testid=batch-submit]")
    page.locator("[data-testid=batch][data-status=completed]").wait_for(timeout=60_000)
    rows = page.locator("#batch-rows tr")
    assert rows.count() == 3
    marks = rows.nth(0).locator("td.text mark")
    assert marks.count() >= 1  # highlighted from the streamed spans
    # spans count code points: the emoji before the finding does not shift the mark
    assert "quickly" in [marks.nth(i).inner_text() for i in range(marks.count())]
    assert rows.nth(0).locator("td.overall .score").inner_text().isdigit()
    screenshot(page, "07b-requirements-batch")
    # Every criterion column is on screen at this width (the findings column was 150 px off).
    table = page.locator("table.batch-rows")
    assert table.evaluate("t => t.scrollWidth <= t.parentElement.clientWidth + 1"), table.evaluate(
        "t => [t.scrollWidth, t.parentElement.clientWidth]"
    )
    assert page.locator("table.batch-rows th.crit").first.inner_text() == "clarity"
    batch_id = page.locator("[data-testid=batch]").get_attribute("data-batch")
    assert page.url.endswith(f"/requirements/batches/{batch_id}")  # Reload opens it, submits nothing again
    page.reload()
    page.locator(f"[data-testid=batch][data-batch='{batch_id}']").wait_for()
    assert page.locator("#batch-rows tr").count() == 3


def log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/sessions$"))


def admin_pages(page, base: str) -> None:
    for path, name, marker in (
        ("/admin/health", "08-admin-health", "[data-check=database]"),
        ("/admin/jobs", "09-admin-jobs", "h1"),
        ("/admin/users", "10-admin-users", "[data-user]"),
    ):
        page.goto(base + path)
        page.locator(marker).first.wait_for()
        screenshot(page, name)
        if path == "/admin/health":  # the page refreshes itself: the section is swapped by its poll
            page.evaluate("() => { document.getElementById('health').dataset.seen = '1'; }")
            page.wait_for_function(
                "() => { const h = document.getElementById('health'); return h && !h.dataset.seen; }", timeout=15_000
            )


def canary_50_then_roll_back(page, base: str) -> None:
    page.goto(f"{base}/admin/flags")
    flag = page.locator("[data-flag=use_v2]")
    flag.locator("[data-testid=flag-enabled]").check()
    flag.locator("[data-testid=canary-slider]").fill("50")
    assert flag.locator("[data-testid=percent-output]").inner_text() == "50"
    flag.locator("[data-testid=save-flag]").click()
    page.locator("[data-testid=message]", has_text="use_v2 is on for 50 %").wait_for()
    screenshot(page, "12-admin-flags-canary")
    flag = page.locator("[data-flag=use_v2]")
    flag.locator("[data-testid=rollback-reason]").fill("v2 answers look wrong")
    flag.locator("[data-testid=rollback]").click()
    page.locator("[data-testid=message]", has_text="rolled back").wait_for()
    assert page.locator("[data-flag=use_v2] [data-testid=flag-state]").inner_text() == "off"
    page.locator("[data-flag=use_v2] details summary").click()
    page.locator("[data-testid=audit] td", has_text="v2 answers look wrong").wait_for()
    screenshot(page, "13-admin-flags-rolled-back")


# Every Content-Security-Policy violation a page reports (static/app.js and htmx must need none).
WATCH_CSP = (
    "window.__violations = [];"
    "document.addEventListener('securitypolicyviolation', (e) =>"
    " window.__violations.push(`${location.pathname}: ${e.violatedDirective} ${e.blockedURI}`));"
)


def csp_violations(page) -> list[str]:
    return page.evaluate("window.__violations || []")


def test_journey(app, live_server, browser, start_worker, tmp_path):
    start_worker(1)
    base = live_server.url
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: "Content Security Policy" in message.text and errors.append(message.text))
    missing: list[str] = []  # anything the pages ask for that is not there (the favicon was)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda response: response.status == 404 and missing.append(response.url))

    sign_up(page, base, "journey@example.test")
    create_session(page, "Browser journey")
    screenshot(page, "03-session")
    upload_clip(page, make_clip(tmp_path / "journey.mp4", seconds=3, fps=10, size=(160, 90), cuts=[1.5]))
    upload_broken_file(page, tmp_path / "broken.mp4")
    report_url = open_report(page)
    errors += csp_violations(page)  # the report: video, keyframes, the shot strip's computed styles
    chat_and_follow_citation(page)
    errors += csp_violations(page)  # the streamed answer
    evaluate_requirement(page, base)
    run_batch(page, base)
    errors += csp_violations(page)  # the batch's event stream

    admin = make_user(role="admin", email="boss@example.test")
    admin_context = browser.new_context(viewport={"width": 1200, "height": 900})
    admin_context.add_init_script(WATCH_CSP)
    admin_page = admin_context.new_page()
    admin_page.on("pageerror", lambda exc: errors.append(str(exc)))
    admin_page.on("console", lambda message: "Content Security Policy" in message.text and errors.append(message.text))
    log_in(admin_page, base, admin.email)
    admin_pages(admin_page, base)
    canary_50_then_roll_back(admin_page, base)
    errors += csp_violations(admin_page)

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone_page = phone.new_page()
    log_in(phone_page, base, "journey@example.test")
    screenshot(phone_page, "11-phone-sessions")
    for url, name in (
        (report_url, "11b-phone-report"),
        (f"{base}/requirements", "11c-phone-requirements"),
        (f"{base}/chat", "11d-phone-chat"),
    ):
        phone_page.goto(url)
        screenshot(phone_page, name)
        overflow = phone_page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name} scrolls sideways by {overflow}px on a phone"
    assert errors == [], errors
    assert missing == [], missing
