"""Chat pages: the thread, streamed answers over SSE, citations that link to the shot, tenancy."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from backend_app.extensions import db
from backend_app.models import Analysis, ChatMessage, ShotDocument
from backend_app.services import sessions
from backend_app.tenancy import Tenant
from tests.web.conftest import text

pytestmark = pytest.mark.sqlite_only


def _video_with_shots(user_id: str, name: str = "Holiday") -> tuple:
    session = sessions.create(Tenant(user_id), name)
    analysis = Analysis(
        user_id=user_id,
        session_id=session.id,
        filename="beach.mp4",
        content_type="video/mp4",
        declared_size=1000,
        storage_key="pending",
    )
    db.session.add(analysis)
    db.session.flush()
    for shot, words in enumerate(["a bright red umbrella on the sand", "dark waves at night"]):
        db.session.add(
            ShotDocument(
                user_id=user_id,
                session_id=session.id,
                analysis_id=analysis.id,
                shot_index=shot,
                start_s=shot * 2.0,
                end_s=shot * 2.0 + 2.0,
                title=f"Shot {shot}",
                text=words,
                keyframe_key=f"{analysis.prefix}keyframes/{shot}.jpg",
            )
        )
    db.session.commit()
    return session, analysis


def _events(body: str) -> list[tuple[str, dict]]:
    out = []
    for block in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        out.append((lines.get("event"), json.loads(lines.get("data", "{}"))))
    return out


def test_empty_thread_says_what_to_ask(page):
    body = text(page.get("/chat"))
    assert "Nothing asked yet" in body and 'data-testid="chat-form"' in body
    # documents are in scope too: the page does not speak of videos only
    assert "Ask your videos and documents" in body and ">Everything of mine</option>" in body
    assert "All my videos" not in body


def test_streamed_answer_cites_the_shot_and_joins_the_thread(page):
    session, analysis = _video_with_shots(page.user.id)
    response = page.post("/chat/stream", data={"message": "red umbrella", "session_id": session.id})
    assert response.mimetype == "text/event-stream"
    events = _events(text(response))
    assert events[0][0] == "token" and events[-1][0] == "done"
    done = events[-1][1]
    assert done["citations"][0]["analysis_id"] == analysis.id and done["citations"][0]["shot"] == 0
    thread = text(page.get(f"/chat?session_id={session.id}"))
    # the citation opens the report with the player at the shot's first second; people count from 1
    assert "red umbrella" in thread and f'href="/analyses/{analysis.id}?t=0.0#shot-0"' in thread
    assert "beach.mp4</strong> · Shot 1 · 0:00–0:02</a>" in thread
    assert "Nothing asked yet" in text(page.get("/chat"))  # the all-videos thread is another thread


def test_a_failure_mid_stream_ends_the_pages_stream_with_an_error_event(page):
    """The session is deleted (in another tab) while its answer streams: the answer cannot be
    stored, and once the first pieces are out the stream can only say so as an ``error`` event,
    which app.js shows under the answer (as the API's stream always did)."""
    session, _ = _video_with_shots(page.user.id)
    response = page.post("/chat/stream", data={"message": "red umbrella", "session_id": session.id}, buffered=False)
    assert response.status_code == 200
    chunks = iter(response.response)
    first = next(chunks).decode()
    assert first.startswith("event: token")
    sessions.delete(Tenant(page.user.id), session.id)
    db.session.commit()
    events = _events(first + b"".join(chunks).decode())
    response.close()
    db.session.rollback()  # the stream's failed insert left the shared test session to roll back
    assert [e for e, _ in events[:-1]] == ["token"] * (len(events) - 1)
    assert events[-1] == (
        "error",
        {"code": "INTERNAL_ERROR", "message": "Something went wrong on our side; it has been logged."},
    )


def test_no_javascript_post_answers_and_redirects(page):
    _video_with_shots(page.user.id)
    response = page.post("/chat", data={"message": "dark waves"})
    assert response.status_code == 303 and response.headers["Location"].startswith("/chat")
    assert "?t=2.0#shot-1" in text(page.get("/chat"))


def test_chat_never_answers_from_another_users_videos(page, other_page):
    session, _ = _video_with_shots(page.user.id)
    events = _events(text(other_page.post("/chat/stream", data={"message": "red umbrella"})))
    assert events[-1][1]["citations"] == []
    assert other_page.get(f"/chat?session_id={session.id}").status_code == 404
    assert other_page.post("/chat/stream", data={"message": "red", "session_id": session.id}).status_code == 404


def test_empty_message_and_csrf(page):
    response = page.post("/chat/stream", data={"message": " "}, htmx=True)
    assert response.status_code == 422 and "A message needs" in text(response)
    assert page.post("/chat/stream", data={"message": "red"}, csrf=False).status_code == 403


def _thread_with(user_id: str, *messages: ChatMessage) -> None:
    for n, m in enumerate(messages):
        m.user_id = user_id
        m.created_at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=n)  # their order in the thread
        db.session.add(m)
    db.session.commit()


XSS = '<script>window.__xss = 1</script> <img src=x onerror="window.__xss = 2"> [click](javascript:window.__xss=3)'


def test_answers_render_as_markdown_and_everything_else_is_text(page):
    _thread_with(
        page.user.id,
        ChatMessage(role="user", content=f"**not bold** {XSS}"),
        ChatMessage(
            role="assistant",
            content=f"The darkest shot is **Shot 1**, *dim*:\n- `0:00` start\n- [report](/analyses/x?t=1)\n\n{XSS}",
            citations=[],
            provider="offline",
        ),
    )
    body = text(page.get("/chat"))
    thread = body[body.index('id="thread"') : body.index('id="chat-form"')]
    assert "<strong>Shot 1</strong>, <em>dim</em>:</p><ul><li><code>0:00</code> start</li>" in thread
    assert '<a href="/analyses/x?t=1" rel="noopener noreferrer">report</a>' in thread
    # the question is never Markdown, and neither the question nor the answer can carry markup
    assert '<p class="msg-text">**not bold** &lt;script&gt;' in thread
    assert thread.count("&lt;script&gt;window.__xss = 1&lt;/script&gt;") == 2
    assert thread.count("&lt;img src=x onerror=") == 2
    assert "[click](javascript:window.__xss=3)" in thread  # a javascript: link stays text
    for markup in ("<script", "<img", 'javascript:window.__xss=3)"', 'href="javascript'):
        assert markup not in thread


def test_the_newest_message_is_the_one_the_page_opens_at(page):
    _thread_with(
        page.user.id,
        *[ChatMessage(role=r, content=f"{r} {n}", provider="offline") for n in range(3) for r in ("user", "assistant")],
    )
    body = text(page.get("/chat"))
    assert body.count('id="latest"') == 1
    latest = body[body.index('id="latest"') :]
    assert latest.index("assistant 2") < latest.index("</article>")  # the last answer is the anchor
    assert body.index('id="thread"') < body.index('id="chat-form"') and 'class="chat-box"' in body


def test_citation_labels_count_from_one_and_link_each_kind_to_its_second_or_page(page):
    _, analysis = _video_with_shots(page.user.id)
    _thread_with(
        page.user.id,
        ChatMessage(
            role="assistant",
            content="Here.",
            provider="offline",
            citations=[
                {
                    "kind": "shot",
                    "analysis_id": analysis.id,
                    "shot": 4,
                    "start_s": 62.5,
                    "end_s": 70.0,
                    "filename": "a.mp4",
                },
                {"analysis_id": analysis.id, "shot": 0, "start_s": 0.0, "end_s": 4.0, "filename": "old.mp4"},
                {"kind": "speech", "analysis_id": analysis.id, "start_s": 42.0, "end_s": 45.25, "snippet": "hello"},
                {"kind": "speech", "analysis_id": analysis.id, "start_s": 59.96, "end_s": 61.0, "snippet": "late"},
                {
                    "kind": "text",
                    "analysis_id": analysis.id,
                    "start_s": 12.0,
                    "end_s": 14.0,
                    "snippet": "EXIT",
                    "filename": "a.mp4",
                },
                {"kind": "page", "document_id": "d1", "page": 3, "snippet": "a page", "filename": "report.pdf"},
                {"kind": "page", "page": 2, "snippet": "no id"},
            ],
        ),
    )
    body = text(page.get("/chat"))
    assert (
        f'href="/analyses/{analysis.id}?t=62.5#shot-4"' in body and "a.mp4</strong> · Shot 5 · 1:02.5–1:10</a>" in body
    )
    assert "old.mp4</strong> · Shot 1 · 0:00–0:04</a>" in body  # rows from before citation kinds
    # what was said and shown: the report at that second; a page: the document at that page
    assert f'href="/analyses/{analysis.id}?t=42.0" data-testid="citation" data-start="42.0">' in body
    assert "<strong>video</strong>, 0:42, spoken</a>:" in body
    assert "<strong>video</strong>, 1:00, spoken</a>:" in body  # 59.96 s, as the answers write it (not 0:60)
    assert f'href="/analyses/{analysis.id}?t=12.0"' in body and "<strong>a.mp4</strong>, on screen at 0:12</a>:" in body
    assert '<a href="/documents/d1?page=3" data-testid="citation"><strong>report.pdf</strong>, page 3</a>:' in body
    assert '<span data-testid="citation"><strong>document</strong>, page 2</span>' in body  # no document to open


def test_an_interrupted_answer_keeps_its_notice_in_the_thread(page):
    _thread_with(
        page.user.id,
        ChatMessage(role="user", content="what happens?"),
        ChatMessage(role="assistant", content="The first", provider="openai", notice="ANSWER_INTERRUPTED"),
        ChatMessage(role="assistant", content="Offline.", provider="offline", notice="SOMETHING_NEW"),
    )
    body = text(page.get("/chat"))
    assert '<span data-testid="notice">interrupted: the AI provider stopped mid-answer</span>' in body
    assert '<span data-testid="notice">fell back: SOMETHING_NEW</span>' in body
