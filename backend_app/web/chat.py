"""Chat pages: ask about all of your videos or one session; answers stream in (rendered as safe
Markdown), citations open the report with the player at the cited second (a shot, what was
said, text on screen) or the document at the cited page. The thread opens at
its newest message. Without JavaScript the form posts and the page shows the thread."""

from __future__ import annotations

from urllib.parse import quote

from flask import g, redirect, render_template, request, url_for

from backend_app.auth import current_tenant
from backend_app.http import sse_response
from backend_app.services import sessions
from backend_app.services.chat import conversation as chat
from backend_app.services.chat.phrasing import clock
from backend_app.web import bp, page_login_required
from backend_app.web.markdown import to_html


def citation_label(c: dict) -> str:
    """What follows the file's name: " · Shot 1 · 0:00–0:04", ", 0:42, spoken", ", on screen at
    0:12", ", page 3" (DESIGN.md's human labels; shots and pages count from 1)."""
    kind = c.get("kind", "shot")
    if kind == "page":
        return f", page {c.get('page')}"
    if kind == "speech":
        return f", {clock(c.get('start_s'))}, spoken"
    if kind == "text":
        return f", on screen at {clock(c.get('start_s'))}"
    return f" · Shot {int(c.get('shot') or 0) + 1} · {clock(c.get('start_s'))}–{clock(c.get('end_s'))}"


def citation_url(c: dict) -> str | None:
    """A shot, speech or on-screen text: the report with the player at the cited second (``?t=``),
    at the shot's row when there is one; a page: the document at that page."""
    if c.get("kind") == "page":
        if not c.get("document_id"):
            return None
        return f"/documents/{quote(str(c['document_id']), safe='')}?page={int(c.get('page') or 1)}"
    if not c.get("analysis_id"):
        return None
    start = c.get("start_s")
    url = url_for("web.report_page", analysis_id=c["analysis_id"], t=start if start is not None else 0.0)
    return url + (f"#shot-{c['shot']}" if c.get("kind", "shot") == "shot" and c.get("shot") is not None else "")


def _scope() -> str | None:
    return (request.values.get("session_id") or "").strip() or None


@bp.get("/chat")
@page_login_required
def chat_page():
    session_id = _scope()
    thread = chat.history(g.user.id, session_id)  # a foreign session is a 404 here
    return render_template(
        "chat/chat.html",
        thread=thread,
        session_id=session_id,
        sessions=sessions.list_for(current_tenant()),
        markdown=to_html,
        citation_label=citation_label,
        citation_url=citation_url,
    )


@bp.post("/chat")
@page_login_required
def chat_ask_page():
    """The no-JavaScript path: answer in one go, then show the thread (post/redirect/get)."""
    session_id = _scope()
    chat.answer(chat.prepare(g.user.id, request.form.get("message", ""), session_id))
    return redirect(url_for("web.chat_page", session_id=session_id) + "#latest", code=303)


@bp.post("/chat/stream")
@page_login_required
def chat_stream_page():
    """The answer as Server-Sent Events for app.js: token pieces, then done with the citations,
    or an error event (a failure after the first piece can only travel as one)."""
    turn = chat.prepare(g.user.id, request.form.get("message", ""), _scope())
    return sse_response(chat.answer_stream(turn))
