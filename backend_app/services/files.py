"""What a service hands a view to send as a file: the bytes (or their chunks), type, size, name.

Services return a ``Download``; the views' HTTP helpers (``backend_app/http.py``) turn it into
a response, so headers and cache lifetimes are decided in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Download:
    """Bytes for a client: a whole body or an iterator of chunks, with its type, and a file name
    when it is saved rather than shown; ``size`` when known (an image's Content-Length)."""

    body: str | bytes | Iterable[bytes]
    content_type: str
    filename: str | None = None
    size: int | None = None
