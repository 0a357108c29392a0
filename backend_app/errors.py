"""The AppError family with stable codes, and the one place errors become responses.

An ``/api/`` request gets ``{"error": {"code", "message", "details"}}``; an htmx request
gets a small fragment; a browser gets a page. No request input reaches a bare 500.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)
_PAGE_USER_LOADER = "framewise.error_page_user"


class AppError(Exception):
    """An error a client can act on: a stable code, a human message, optional details."""

    status = 400
    code = "BAD_REQUEST"
    message = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.code = code or self.code
        self.status = status or self.status
        self.details = details or {}
        self.headers: dict[str, str] = {}  # sent with the error (Retry-After on a 429, say)

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}

    def explained(self, names: dict[str, str] | None = None) -> str:
        """The message with each field's problem, for a terminal ("… password must be at least 8 characters").
        ``names`` renames fields (to the environment variable that set them, say)."""
        fields = self.details.get("fields") if isinstance(self.details.get("fields"), dict) else {}
        problems = [f"{(names or {}).get(name, name)} {problem}" for name, problem in fields.items()]
        return " ".join([self.message, *problems]) if problems else self.message


class ValidationError(AppError):
    status, code, message = 422, "VALIDATION_ERROR", "Some fields are missing or invalid."


class BadRequest(AppError):
    status, code = 400, "BAD_REQUEST"


class Unauthorized(AppError):
    status, code, message = 401, "UNAUTHORIZED", "Sign in to continue."


class Forbidden(AppError):
    status, code, message = 403, "FORBIDDEN", "You are not allowed to do this."


class NotFound(AppError):
    status, code, message = 404, "NOT_FOUND", "Not found."


class Conflict(AppError):
    status, code, message = 409, "CONFLICT", "This conflicts with the current state."


class PayloadTooLarge(AppError):
    status, code, message = 413, "PAYLOAD_TOO_LARGE", "The request body is too large."


class RateLimited(AppError):
    status, code, message = 429, "RATE_LIMITED", "Too many requests; wait a moment and retry."


class ServiceUnavailable(AppError):
    status, code, message = 503, "SERVICE_UNAVAILABLE", "A backing service is unavailable."


# A NUL (PostgreSQL text cannot hold one) or half of a UTF-16 surrogate pair (no UTF-8 exists for
# it, so hashing, the database and Redis all fail on it): valid JSON escapes, never real text.
# Here, below every layer, so that parsers in services refuse it with the same words as views.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "contains a NUL character or an unpaired surrogate"


def unstorable(value: Any) -> str | None:
    """Where in ``value`` (parsed JSON) the first string that cannot be stored is, or None.

    The path is dotted (``context.tags.2``); a key that cannot be stored is named by its parent.
    """
    pending: list[tuple[Any, str]] = [(value, "")]
    while pending:
        item, path = pending.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                return path or "body"
        elif isinstance(item, dict):
            for key, inner in item.items():
                if _UNSTORABLE.search(key):
                    return path or "body"
                pending.append((inner, f"{path}.{key}" if path else key))
        elif isinstance(item, list):
            pending.extend((inner, f"{path}.{n}" if path else str(n)) for n, inner in enumerate(item))
    return None


# Codes for HTTP errors raised by Flask/Werkzeug itself.
_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    411: "LENGTH_REQUIRED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


# The original systems' routes outside /api/ (api/compat.py) answer JSON too.
JSON_PATHS = {"/health", "/ping", "/metrics", "/analyze"}
JSON_PREFIXES = ("/api/", "/health/", "/upload/")


def wants_json() -> bool:
    return request.path in JSON_PATHS or request.path.startswith(JSON_PREFIXES)


def is_htmx() -> bool:
    return bool(getattr(request, "htmx", False))


def render_error(error: AppError) -> Response:
    """Render an AppError in the shape the caller expects."""
    if wants_json():
        response = jsonify(error.to_dict())
    elif is_htmx():
        response = Response(render_template("partials/_error.html", error=error))
        # htmx swaps only 2xx by default; retarget so the message shows where forms expect it.
        response.headers["HX-Retarget"] = request.headers.get("HX-Error-Target", "#flash")
        response.headers["HX-Reswap"] = "innerHTML"
    else:
        _know_the_page_user()
        response = Response(render_template("errors/error.html", error=error))
    response.status_code = error.status
    response.headers.update(getattr(error, "headers", None) or {})
    return response


def set_page_user_loader(app: Flask, loader: Callable[[], object]) -> None:
    """How an error page learns who is signed in (the pages register theirs; errors know no pages)."""
    app.extensions[_PAGE_USER_LOADER] = loader


def _know_the_page_user() -> None:
    """An error page (a 404 no view answered) still shows the signed-in user's menu, not 'Log in'."""
    loader = current_app.extensions.get(_PAGE_USER_LOADER)
    if loader is None or g.get("user") is not None or request.method not in ("GET", "HEAD"):
        return
    try:
        loader()
    except Exception:  # the error page must render whatever the cookies hold
        g.pop("user", None)


def register_error_handlers(app: Flask) -> None:
    """Turn every failure into the one error shape."""

    @app.errorhandler(AppError)
    def _app_error(error: AppError):
        return render_error(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        status = error.code or 500
        code = _HTTP_CODES.get(status, "HTTP_ERROR")
        message = error.description or error.name
        if status == 413:
            message = "The request body is larger than this endpoint accepts."
        details: dict[str, Any] = {}
        if status == 405 and error.valid_methods:
            details["allowed"] = sorted(error.valid_methods)
        response = render_error(AppError(message, code=code, status=status, details=details))
        if status == 405 and error.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(error.valid_methods))
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error", extra={"path": request.path})
        return render_error(
            AppError("Something went wrong on our side; it has been logged.", code="INTERNAL_ERROR", status=500)
        )
