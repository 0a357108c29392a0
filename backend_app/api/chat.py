"""Chat over your own videos: answers with citations, streamed answers (SSE), your history."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from flask import jsonify, request

from backend_app.api import bp, doc, obj
from backend_app.api.schemas import ref, shape
from backend_app.auth import current_user, login_required
from backend_app.http import sse_response, url_template
from backend_app.services.chat import conversation as chat
from backend_app.services.chat.conversation import MODES
from backend_app.validation import fields, int_arg, json_body


def chat_body(settings) -> dict:
    """The message is counted as sent (1 to CHAT_MAX_MESSAGE_CHARS) and must hold something to ask
    besides white space and control characters; no session_id (or "") means all your videos."""
    message = {
        "type": "string",
        "maxLength": settings.chat_max_message_chars,
        "pattern": r"^[^\x00]*[^\s\x00-\x1f\x7f-\x9f][^\x00]*$",
    }
    return obj({"message": message}, {"session_id": "string", "mode": {"type": "string", "enum": list(MODES)}})


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
    "Ask about your videos and documents (all of them, or one session): an answer with citations to shots, "
    "what was said, text on screen and document pages",
    tag="chat",
    body=chat_body,
    responses={
        200: "{answer, citations[{kind: shot, analysis_id, shot, start_s, end_s, snippet, keyframe_url, filename} | "
        "{kind: speech|text, analysis_id, start_s, end_s, snippet, filename} | {kind: page, document_id, page, "
        "snippet, filename}], provider, notice, message_id}",
        **CHAT_ERRORS,
    },
    returns=ref("ChatAnswer"),
)
@login_required
def ask():
    return jsonify(_linked(chat.answer(_turn())))


def _linked(body: dict, keyframes: dict[str, Callable[[int], str]] | None = None) -> dict:
    """The body with each citation's keyframe URL filled in (services name shots; the API names URLs)."""
    if not body.get("citations"):
        return body
    keyframes = {} if keyframes is None else keyframes
    citations = []
    for cite in body["citations"]:
        if cite.get("kind", "shot") != "shot":  # speech, on-screen text, a page: no keyframe of their own
            citations.append(cite)
            continue
        analysis_id = cite["analysis_id"]
        if analysis_id not in keyframes:
            keyframes[analysis_id] = url_template("api.get_keyframe", "index", analysis_id=analysis_id)
        citations.append({**cite, "keyframe_url": keyframes[analysis_id](cite["shot"])})
    return {**body, "citations": citations}


def _linked_events(events: Iterator[tuple[str, dict]]) -> Iterator[tuple[str, dict]]:
    for event, data in events:
        yield event, (_linked(data) if event == "done" else data)


@bp.post("/chat/stream")
@doc(
    "Ask about your videos, answer streamed as Server-Sent Events: token events, then done "
    "{answer, citations, provider, notice, message_id} (or an error event)",
    tag="chat",
    body=chat_body,
    responses={200: "text/event-stream", **CHAT_ERRORS},
    media="text/event-stream",
)
@login_required
def ask_stream():
    turn = _turn()  # validation, 404s and 402s happen here, before the stream starts
    return sse_response(_linked_events(chat.answer_stream(turn)))


@bp.get("/chat/history")
@doc(
    "Your chat thread for one session (session_id) or for all your videos (no session_id)",
    tag="chat",
    params={
        "session_id": "a session id, or empty for the all-videos thread",
        "limit": {"description": "last N messages (default 100)", "type": "integer", "minimum": 1, "maximum": 500},
    },
    responses={200: "{session_id, messages}", 404: "SESSION_NOT_FOUND"},
    returns=shape(
        {"session_id": {"type": ["string", "null"]}, "messages": {"type": "array", "items": {"type": "object"}}}
    ),
)
@login_required
def chat_history():
    session_id = request.args.get("session_id") or None
    messages = chat.history(current_user().id, session_id, limit=int_arg("limit", 100, low=1, high=500))
    keyframes: dict[str, Callable[[int], str]] = {}  # one url_for per cited video, not per citation
    return jsonify({"session_id": session_id, "messages": [_linked(m.to_dict(), keyframes) for m in messages]})
