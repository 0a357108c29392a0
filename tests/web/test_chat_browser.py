"""The chat page in Debian's Chromium against the real app, a real worker and a real analysed clip.

Three questions: each answer streams with a "thinking" state, the newest answer is in view above
the question box (also after a reload and on a phone), and a citation opens the report with the
player at the cited second. The Markdown of streamed answers (app.js) is the server's
(web/markdown.py), and neither lets markup or script through.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from backend_app.extensions import db
from backend_app.web.markdown import to_html
from tests.factories import PASSWORD, auth_headers, make_user
from tests.helpers import wait_until
from tests.media import make_clip
from tests.uploading import make_session, upload_video
from tests.web.live import SCREENSHOTS, screenshot
from tests.web.test_chat_pages import _video_with_shots

pytestmark = [pytest.mark.sqlite_only, pytest.mark.timeout(300)]

# Notes, as the page runs, whether "thinking" was shown with the button disabled, and anything an
# answer managed to run.
WATCH = """
window.__thinking = 0;
new MutationObserver(() => {
  const button = document.querySelector("[data-testid=chat-send]");
  if (document.querySelector("[data-testid=thinking]") && button && button.disabled) window.__thinking += 1;
}).observe(document, {childList: true, subtree: true});
"""

MARKDOWN_CASES = [
    "The darkest shot is **Shot 1 of dark.mp4** (0:00–0:02, brightness 0.15).",
    "Shots:\n- **Shot 1** · *dim*\n- Shot 2 with `code`\n\n3. three\n4. four",
    "a_b_c.mp4 and _it_ and __bold__ and 2 * 3 * 4",
    "line\nbreak\n  indented\n\n## Heading ##\n- item\n  more\nafter",
    "[report](/analyses/a?t=2#shot-1) [ext](https://example.org/?a=1&b=2) [**b**](http://x.test)",
    "<script>window.__xss = 1</script><img src=x onerror='window.__xss = 2'>",
    "[x](javascript:window.__xss=3) [y](JAVASCRIPT:alert(1)) [z](//evil.test) [w](/\\evil.test) [d](data:text/html,hi)",
    "**<img src=x onerror=window.__xss=4>** `<script>window.__xss=5</script>` - <svg onload=window.__xss=6>",
    "Ünïcödé _wörter_ und **fett** — 😀 *ja*",
    "",
]


def test_streamed_and_server_markdown_are_the_same_and_safe(live_server, browser):
    page = browser.new_page()
    page.goto(f"{live_server.url}/login")  # app.js is on every page
    for source in MARKDOWN_CASES:
        client, server = page.evaluate(
            """([source, html]) => {
              const a = document.createElement("div");
              a.append(window.FramewiseMarkdown.render(source));
              const b = document.createElement("div");
              b.innerHTML = html;
              document.body.append(a, b);  // in the document: an <img> would load (and fire onerror)
              return [a.innerHTML, b.innerHTML];
            }""",
            [source, str(to_html(source))],
        )
        assert client == server, source
    page.wait_for_timeout(300)  # time for an image error or a script to have run
    assert page.evaluate("window.__xss") is None
    tags = page.evaluate("() => [...document.querySelectorAll('body div *')].map((e) => e.tagName.toLowerCase())")
    assert set(tags) <= {"p", "br", "ul", "ol", "li", "strong", "em", "code", "a"}, tags
    hrefs = page.evaluate("() => [...document.querySelectorAll('body div a')].map((a) => a.getAttribute('href'))")
    assert all(h.startswith(("/analyses/", "https://", "http://")) for h in hrefs), hrefs


def _analysed_clip(app, tmp_path, email: str) -> str:
    """A 6 s clip (red 0-2 s, green 2-4 s, blue 4-6 s) uploaded and analysed by the worker; its session."""
    client = app.test_client()
    headers = auth_headers(client, make_user(email=email))
    session_id = make_session(client, headers, name="Colours")
    clip = make_clip(tmp_path / "colours.mp4", seconds=6, fps=10, size=(160, 90), cuts=[2, 4])
    analysis_id = upload_video(client, headers, session_id, clip, filename="colours.mp4")["analysis_id"]

    def finished():
        db.session.expire_all()
        body = client.get(f"/api/v1/analyses/{analysis_id}", headers=headers).get_json()
        return body if body["status"] in ("completed", "failed") else None

    status = wait_until(finished, timeout_s=180, interval_s=0.5, message="the analysis to finish")
    assert status["status"] == "completed", status
    return session_id


def _log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/sessions$"))


def _in_view(page, selector: str) -> dict:
    """Where the element is against the viewport and the question box's top edge."""
    return page.evaluate(
        """(selector) => {
          const els = document.querySelectorAll(selector);
          const r = els[els.length - 1].getBoundingClientRect();
          const box = document.getElementById("chat-form").getBoundingClientRect();
          return {top: r.top, bottom: r.bottom, boxTop: box.top, boxBottom: box.bottom,
                  height: window.innerHeight, width: window.innerWidth,
                  overflow: document.documentElement.scrollWidth - window.innerWidth,
                  scrolled: window.scrollY};
        }""",
        selector,
    )


def _newest_answer_and_box_in_view(page) -> dict:
    where = _in_view(page, ".msg-assistant")
    assert 0 <= where["top"] and where["bottom"] <= where["boxTop"] + 1, where  # not under the box
    assert where["boxTop"] >= 0 and where["boxBottom"] <= where["height"] + 1, where  # the box is on screen
    assert (
        page.locator("[data-testid=chat-input]").is_visible() and page.locator("[data-testid=chat-send]").is_visible()
    )
    return where


QUESTIONS = ["Which shot is mostly red?", "Which shot is mostly blue?", "Which shot is mostly green?"]


def test_three_questions_newest_in_view_and_a_citation_opens_the_player_there(
    app, live_server, browser, start_worker, tmp_path
):
    start_worker(1)
    email = "chat-browser@example.test"
    session_id = _analysed_clip(app, tmp_path, email)
    base = live_server.url
    context = browser.new_context(viewport={"width": 1200, "height": 700})
    context.add_init_script(WATCH)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: "Content Security Policy" in m.text and errors.append(m.text))
    _log_in(page, base, email)
    page.goto(f"{base}/chat?session_id={session_id}")

    # a question that tries markup is shown as text, and so is anything the answer says about it
    page.fill("[data-testid=chat-input]", "<img src=x onerror=window.__xss=1> [a](javascript:window.__xss=2)")
    page.click("[data-testid=chat-send]")
    page.locator(".msg-assistant[data-done]").wait_for(timeout=30_000)
    for n, question in enumerate(QUESTIONS, start=2):
        page.fill("[data-testid=chat-input]", question)
        page.click("[data-testid=chat-send]")
        page.locator(".msg-assistant[data-done]").nth(n - 1).wait_for(timeout=30_000)
        assert page.locator(".msg-assistant").count() == n
        # the thinking state was shown while it streamed, and is cleared now
        assert page.evaluate("window.__thinking") > 0
        page.evaluate("window.__thinking = 0")
        assert page.locator("[data-testid=thinking]").count() == 0
        assert page.locator("[data-testid=chat-send]").is_enabled()
        assert page.locator(".msg-assistant").last.get_attribute("data-done") == "1"
        _newest_answer_and_box_in_view(page)
    assert page.locator("#thread img").count() == 0 and page.evaluate("window.__xss") is None
    assert "<img src=x onerror=window.__xss=1>" in page.locator(".msg-user").first.inner_text()
    where = _newest_answer_and_box_in_view(page)
    assert where["scrolled"] > 0  # the thread is longer than the screen: in view because it scrolled
    page.screenshot(path=str(SCREENSHOTS / "chat-desktop-three-questions.png"))

    # the thread, opened again, starts at its newest answer
    page.reload()
    page.locator("#latest").wait_for()
    _newest_answer_and_box_in_view(page)

    # a citation of the newest answer opens the report with the player at its second
    citations = page.locator(".msg-assistant").last.locator("a[data-testid=citation]")
    assert citations.count() >= 1
    labels = [citations.nth(i).inner_text() for i in range(citations.count())]
    assert all(re.search(r"· Shot [1-9]\d* · \d+:\d\d(\.\d)?–\d+:\d\d(\.\d)?$", label) for label in labels), labels
    starts = [float(citations.nth(i).get_attribute("data-start")) for i in range(citations.count())]
    pick = next((i for i, s in enumerate(starts) if s > 0), None)
    assert pick is not None, f"every citation starts at 0 s, so a seek could not be seen: {labels}"
    start = starts[pick]
    href = citations.nth(pick).get_attribute("href")
    assert float(parse_qs(urlsplit(href).query)["t"][0]) == start
    citations.nth(pick).click()
    page.wait_for_url(re.compile(r"/analyses/[0-9a-f]+\?t=[0-9.]+#shot-\d+$"))
    page.wait_for_function(
        f"() => {{ const p = document.getElementById('player'); return p && p.readyState >= 1"
        f" && Math.abs(p.currentTime - {start}) < 0.5; }}",
        timeout=15_000,
    )
    assert errors == [], errors

    # a phone: no sideways scroll, the newest answer and the box in view, citations wrap
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone_page = phone.new_page()
    _log_in(phone_page, base, email)
    phone_page.goto(f"{base}/chat?session_id={session_id}")
    phone_page.locator("#latest").wait_for()
    where = _newest_answer_and_box_in_view(phone_page)
    assert where["overflow"] <= 1, f"the chat scrolls sideways by {where['overflow']}px on a phone"
    assert where["scrolled"] > 0
    widest = phone_page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('ul.citations li, .msg')].map((e) => e.getBoundingClientRect().right))"
    )
    assert widest <= 390, widest
    screenshot(phone_page, "chat-phone-390x844-full")
    phone_page.screenshot(path=str(SCREENSHOTS / "chat-phone-390x844.png"))  # what the phone shows on opening
    phone_page.fill("[data-testid=chat-input]", "Which shot is mostly red?")
    phone_page.click("[data-testid=chat-send]")
    phone_page.locator("#latest.msg-assistant[data-done='1']").wait_for(timeout=30_000)  # the page loaded the others
    _newest_answer_and_box_in_view(phone_page)
    phone_page.screenshot(path=str(SCREENSHOTS / "chat-phone-390x844-asked.png"))


# What the model streams, word by word: Markdown, a citation, and markup that must stay text.
MODEL_ANSWER = (
    "The **red umbrella** is in the *first* shot [1].\n"
    "- it starts at `0:00`\n"
    "- <img src=x onerror=window.__xss=1> [see](javascript:window.__xss=2) [report](/sessions)"
)


def test_a_model_answer_streams_as_markdown_and_a_failing_model_falls_back_with_its_notice(
    openai_app, fake_openai, live_server, browser
):
    user = make_user(email="chat-model@example.test")
    session, analysis = _video_with_shots(user.id)
    fake_openai.responder = lambda request: MODEL_ANSWER
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    context.add_init_script(WATCH)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _log_in(page, live_server.url, user.email)
    page.goto(f"{live_server.url}/chat?session_id={session.id}")

    page.fill("[data-testid=chat-input]", "red umbrella")
    page.click("[data-testid=chat-send]")
    answer = page.locator("#latest.msg-assistant[data-done='1']")
    answer.wait_for(timeout=30_000)
    assert page.evaluate("window.__thinking") > 0 and page.locator("[data-testid=thinking]").count() == 0
    body = answer.locator("[data-testid=answer-text]")
    assert body.locator("strong").inner_text() == "red umbrella" and body.locator("em").inner_text() == "first"
    assert body.locator("li").count() == 2 and body.locator("code").inner_text() == "0:00"
    assert [body.locator("a").nth(i).get_attribute("href") for i in range(body.locator("a").count())] == ["/sessions"]
    assert "<img src=x onerror=window.__xss=1> [see](javascript:window.__xss=2)" in body.inner_text()
    streamed = body.inner_html()
    citation = answer.locator("a[data-testid=citation]")
    assert citation.inner_text() == "beach.mp4 · Shot 1 · 0:00–0:02"
    assert citation.get_attribute("href") == f"/analyses/{analysis.id}?t=0#shot-0"

    # the thread as the server renders it shows the same answer
    page.reload()
    assert page.locator("#latest [data-testid=answer-text]").inner_html() == streamed

    # the model fails: the offline answer comes instead, saying why
    def broken(request):
        raise ConnectionError("dropped")

    fake_openai.responder = broken
    page.fill("[data-testid=chat-input]", "dark waves")
    page.click("[data-testid=chat-send]")
    fallback = page.locator("#latest.msg-assistant[data-done='1']")
    fallback.wait_for(timeout=60_000)
    assert "waves" in fallback.locator("[data-testid=answer-text]").inner_text()
    assert fallback.locator("[data-testid=notice]").inner_text()  # the provider's failure, in words
    assert page.locator("[data-testid=chat-send]").is_enabled() and page.locator("[data-testid=thinking]").count() == 0
    page.reload()
    assert page.locator("#latest [data-testid=notice]").inner_text().startswith("fell back")
    _newest_answer_and_box_in_view(page)
    assert page.evaluate("window.__xss") is None and errors == [], errors


INTERRUPTED = (
    'event: token\ndata: {"text": "The **first"}\n\n'
    'event: token\ndata: {"text": " shot** is"}\n\n'
    'event: error\ndata: {"code": "ANSWER_INTERRUPTED", "message": "The AI provider stopped mid-answer; '
    'the part received is kept.", "partial": true}\n\n'
)


def test_an_answer_interrupted_midway_keeps_its_text_and_shows_its_notice(live_server, browser):
    """The stream the server sends when the model stops mid-answer (pieces, then an ``error`` event
    with the notice). Playwright answers the page's request with it: the fake model server cannot
    break off midway on main yet."""
    user = make_user(email="chat-interrupted@example.test")
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    context.add_init_script(WATCH)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _log_in(page, live_server.url, user.email)
    page.goto(f"{live_server.url}/chat")
    page.route(
        "**/chat/stream",
        lambda route: route.fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body=INTERRUPTED),
    )
    page.fill("[data-testid=chat-input]", "what happens first?")
    page.click("[data-testid=chat-send]")
    answer = page.locator("#latest.msg-assistant[data-done=error]")
    answer.wait_for(timeout=15_000)
    # rendered from the pieces alone (no done event came): Markdown on every piece, not only at the end
    assert answer.locator("[data-testid=answer-text] strong").inner_text() == "first shot"
    assert answer.locator("[data-testid=notice]").inner_text().startswith("The AI provider stopped mid-answer")
    assert page.evaluate("window.__thinking") > 0 and page.locator("[data-testid=thinking]").count() == 0
    assert page.locator("[data-testid=chat-send]").is_enabled()

    # the connection drops: the answer says so, and the next question can be asked
    page.unroute("**/chat/stream")
    page.route("**/chat/stream", lambda route: route.abort("connectionreset"))
    page.fill("[data-testid=chat-input]", "and then?")
    page.click("[data-testid=chat-send]")
    dropped = page.locator("#latest.msg-assistant[data-done=error]")
    page.wait_for_function("() => document.querySelectorAll('.msg-assistant[data-done=error]').length === 2")
    assert dropped.locator("[data-testid=notice]").inner_text().startswith("The answer stopped:")
    assert page.locator("[data-testid=thinking]").count() == 0 and page.locator("[data-testid=chat-send]").is_enabled()
    assert errors == [], errors


def test_speech_text_and_page_citations_stream_with_their_labels_and_links(live_server, browser):
    """What was said and shown open the report at their second; a page opens the document at that
    page. The streamed citations (app.js) read as the page renders them after a reload (chat.py)."""
    from backend_app.services.chat import passages
    from tests.web.test_chat_pages import _video_with_shots

    user = make_user(email="chat-passages@example.test")
    session, analysis = _video_with_shots(user.id)
    passages.index_analysis_extras(
        analysis,
        {
            "transcript": [{"start_s": 42.4, "end_s": 45.0, "text": "The lighthouse was built in 1902."}],
            "texts": [{"start_s": 12.0, "end_s": 14.0, "text": "HARBOUR MUSEUM", "box": [0, 0, 9, 9]}],
        },
    )
    document_id = "d" * 32
    passages.index_document_pages(
        user.id, session.id, document_id, "report.pdf", [(2, "Tides rise twice a day.", ["Chapter 2: Tides"])]
    )
    db.session.commit()
    page = browser.new_context(viewport={"width": 1100, "height": 800}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _log_in(page, live_server.url, user.email)
    page.goto(f"{live_server.url}/chat?session_id={session.id}")
    streamed = []
    for n, question in enumerate(
        ["When does someone say lighthouse?", "What text appears on screen?", "Summarise page 2"], start=1
    ):
        page.fill("[data-testid=chat-input]", question)
        page.click("[data-testid=chat-send]")
        page.locator(".msg-assistant[data-done='1']").nth(n - 1).wait_for(timeout=30_000)
        streamed.append(page.locator(".msg-assistant").last.locator("ul.citations li").first.inner_text())
    links = page.locator("a[data-testid=citation]")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert hrefs == [
        f"/analyses/{analysis.id}?t=42.4",
        f"/analyses/{analysis.id}?t=12",
        f"/documents/{document_id}?page=2",
    ], hrefs
    assert streamed == [
        "beach.mp4, 0:42.4, spoken: “The lighthouse was built in 1902.”",
        "beach.mp4, on screen at 0:12: “HARBOUR MUSEUM”",
        "report.pdf, page 2: “Tides rise twice a day.”",
    ], streamed
    page.reload()
    page.locator("#latest").wait_for()
    rendered = [page.locator(".msg-assistant").nth(i).locator("ul.citations li").first.inner_text() for i in range(3)]
    assert [" ".join(r.split()) for r in rendered] == streamed
    links.first.click()
    page.wait_for_url(re.compile(rf"/analyses/{analysis.id}\?t=42\.4$"))
    assert errors == [], errors
