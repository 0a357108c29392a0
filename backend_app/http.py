"""One helper for each HTTP idea the views share: Server-Sent Events, images, attachments, links.

Services return data (an iterator of events, a ``Download``); api/ and web/ build the response
here, so a header, a cache lifetime or the way a stream fails is decided once for both.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Response, request, stream_with_context, url_for

from backend_app.filenames import content_disposition
from backend_app.services.files import Download

log = logging.getLogger(__name__)

# --- Server-Sent Events ------------------------------------------------------------------------

# An event as a service yields it: (event, data) or (event, data, id); None is an idle round.
Event = tuple[str, Any] | tuple[str, Any, int | None] | None
KEEPALIVE_S = 15.0  # a comment after this much silence keeps proxies from closing the stream
STREAM_FAILED = {"code": "INTERNAL_ERROR", "message": "Something went wrong on our side; it has been logged."}
_EVENT_ID = re.compile(r"-?[0-9]{1,9}")


def sse(event: str, data: Any, event_id: int | None = None) -> str:
    """One event on the wire: its data as JSON, with an id when the client may resume after it."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _encoded(events: Iterable[Event], retry_ms: int | None) -> Iterator[str]:
    if retry_ms is not None:
        yield f"retry: {retry_ms}\n\n"
    last_sent = time.monotonic()
    try:
        for item in events:
            if item is not None:
                yield sse(*item)
                last_sent = time.monotonic()
            elif time.monotonic() - last_sent > KEEPALIVE_S:
                yield ": keep-alive\n\n"
                last_sent = time.monotonic()
    except Exception:  # the status line is sent: the error can only travel as an event
        log.exception("event stream failed", extra={"path": request.path})
        if retry_ms is None:
            yield sse("error", STREAM_FAILED)


def sse_response(events: Iterable[Event], *, retry_ms: int | None = None) -> Response:
    """Stream ``events`` as text/event-stream.

    A failure mid-stream ends a stream with an ``error`` event (a chat answer cannot be picked
    up again); a resumable stream (``retry_ms``: its events carry ids) just ends, and the
    client comes back after that long from the last id it saw (``resume_after``).
    """
    response = Response(stream_with_context(_encoded(events, retry_ms)), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass events through as they come
    return response


def resume_after() -> int:
    """The event id a reconnecting client last saw (``Last-Event-ID``), or -1 for the beginning.

    Ids are row numbers: anything else (not ASCII digits, or past any batch's size and the
    database's integers) starts from the beginning.
    """
    last = (request.headers.get("Last-Event-ID") or "").strip()
    return int(last) if _EVENT_ID.fullmatch(last) else -1


# --- files -------------------------------------------------------------------------------------

# Keyframes and contact sheets do not change once written (a retry re-runs only a failed or
# canceled analysis, from the same video) and a report page asks for hundreds of them: an hour,
# in the browser's own cache only (private). The API used to say 5 minutes and pages an hour.
IMAGE_CACHE = "private, max-age=3600"


def _body(download: Download):
    body = download.body
    return body if isinstance(body, str | bytes) else stream_with_context(body)


def image(download: Download) -> Response:
    """An image shown inline, streamed from storage and kept by the browser for an hour."""
    response = Response(_body(download), content_type=download.content_type, direct_passthrough=True)
    if download.size is not None:
        response.content_length = download.size
    response.headers["Cache-Control"] = IMAGE_CACHE
    return response


def attachment(download: Download) -> Response:
    """A file the browser saves under ``download.filename`` (streamed when the body is chunks).

    Never stored by a cache: every attachment here is somebody's own data.
    """
    response = Response(_body(download), content_type=download.content_type)
    response.headers["Content-Disposition"] = content_disposition(download.filename or "download")
    response.headers["Cache-Control"] = "no-store"
    return response


# --- links -------------------------------------------------------------------------------------


def url_template(endpoint: str, varying: str, **values: Any) -> Callable[[int], str]:
    """URLs of ``endpoint`` that differ only in one integer argument, from a single ``url_for``
    (a report links hundreds of keyframes; one url_for each was a third of its page's time)."""
    probe = 987_654_321
    head, _, tail = url_for(endpoint, **values, **{varying: probe}).rpartition(str(probe))
    return lambda value: f"{head}{int(value)}{tail}"


def report_links(analysis_id: str) -> dict[str, Any]:
    """Where a report's images are, for ``analyses.report``: the API's keyframe, contact-sheet and
    face URLs (the API's report and the page's report.json download carry the same links)."""
    return {
        "keyframe_url": url_template("api.get_keyframe", "index", analysis_id=analysis_id),
        "contact_sheet_url": url_for("api.get_contact_sheet", analysis_id=analysis_id),
        "face_url": lambda person_id: url_for("api.get_person_face", analysis_id=analysis_id, person_id=person_id),
    }
