"""Chat over your own videos: answers with citations, streamed answers (SSE), your history."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

from flask import Response, jsonify, request, stream_with_context

from backend_app.api import bp, doc, obj
from backend_app.auth import current_user, login_required
from backend_app.services.chat import conversation as chat
from backend_app.validation import fields, int_arg, json_body

log = logging.getLogger(__name__)

CHAT_BODY = obj({"message": "string"}, {"session_id": "string", "mode": "string"})
CHAT_ERRORS = {
    404: "SESSION_NOT_FOUND",
    402: "BUDGET_EXCEEDED (mode=ai only)",
    409: "AI_UNAVAILABLE (mode=ai)",
    422: "VALIDATION_ERROR",
    502: "AI_PROVIDER_FAILED (mode=ai)",
}


def _turn() -> chat.Turn:
    data = fields(json_body(), {"message": str}, {"session_id": str, "mode": str})
    session_id = data.get("session_id") or None  # "" means all of your videos, like no session_id
    return chat.prepare(current_user().id, data["message"], session_id, data.get("mode", "auto"))


@bp.post("/chat")
@doc(
    "Ask about your videos (all of them, or one session): an answer with citations to shots",
    tag="chat",
    body=CHAT_BODY,
    responses={
        200: "{answer, citations[{analysis_id, shot, start_s, end_s, snippet, keyframe_url, filename}], "
        "provider, notice, message_id}",
        **CHAT_ERRORS,
    },
)
@login_required
def ask():
    return jsonify(chat.answer(_turn()))


def _sse(events: Iterator[tuple[str, dict]]) -> Iterator[str]:
    """Server-Sent Events; a failure after the headers went out still ends with an error event."""
    try:
        for event, data in events:
            yield f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
    except Exception:  # the status line is sent: the error can only travel as an event
        log.exception("chat stream failed")
        error = {"code": "INTERNAL_ERROR", "message": "Something went wrong on our side; it has been logged."}
        yield f"event: error\ndata: {json.dumps(error)}\n\n"


@bp.post("/chat/stream")
@doc(
    "Ask about your videos, answer streamed as Server-Sent Events: token events, then done "
    "{answer, citations, provider, notice, message_id} (or an error event)",
    tag="chat",
    body=CHAT_BODY,
    responses={200: "text/event-stream", **CHAT_ERRORS},
)
@login_required
def ask_stream():
    turn = _turn()  # validation, 404s and 402s happen here, before the stream starts
    response = Response(stream_with_context(_sse(chat.answer_stream(turn))), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass events through as they come
    return response


@bp.get("/chat/history")
@doc(
    "Your chat thread for one session (session_id) or for all your videos (no session_id)",
    tag="chat",
    params={"session_id": "a session id, or empty for the all-videos thread", "limit": "last N messages (1-500)"},
    responses={200: "{session_id, messages}", 404: "SESSION_NOT_FOUND"},
)
@login_required
def chat_history():
    session_id = request.args.get("session_id") or None
    messages = chat.history(current_user().id, session_id, limit=int_arg("limit", 100, low=1, high=500))
    return jsonify({"session_id": session_id, "messages": [m.to_dict() for m in messages]})
