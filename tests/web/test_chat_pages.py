"""Chat pages: the thread, streamed answers over SSE, citations that link to the shot, tenancy."""

from __future__ import annotations

import json

import pytest

from backend_app.extensions import db
from backend_app.models import Analysis, ShotDocument
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


def test_streamed_answer_cites_the_shot_and_joins_the_thread(page):
    session, analysis = _video_with_shots(page.user.id)
    response = page.post("/chat/stream", data={"message": "red umbrella", "session_id": session.id})
    assert response.mimetype == "text/event-stream"
    events = _events(text(response))
    assert events[0][0] == "token" and events[-1][0] == "done"
    done = events[-1][1]
    assert done["citations"][0]["analysis_id"] == analysis.id and done["citations"][0]["shot"] == 0
    thread = text(page.get(f"/chat?session_id={session.id}"))
    # the citation opens the report at the shot's first second (the player seeks there)
    assert "red umbrella" in thread and f"/analyses/{analysis.id}?t=0.0#shot-0" in thread
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
    assert "#shot-1" in text(page.get("/chat"))


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
