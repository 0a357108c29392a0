"""Chat pages: ask about all of your videos or one session; answers stream in, citations link
to the report at that shot. Without JavaScript the form posts and the page shows the thread."""

from __future__ import annotations

from flask import g, redirect, render_template, request, url_for

from backend_app.auth import current_tenant
from backend_app.http import sse_response
from backend_app.services import sessions
from backend_app.services.chat import conversation as chat
from backend_app.web import bp, page_login_required


def _scope() -> str | None:
    return (request.values.get("session_id") or "").strip() or None


@bp.get("/chat")
@page_login_required
def chat_page():
    session_id = _scope()
    thread = chat.history(g.user.id, session_id)  # a foreign session is a 404 here
    return render_template(
        "chat/chat.html", thread=thread, session_id=session_id, sessions=sessions.list_for(current_tenant())
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
