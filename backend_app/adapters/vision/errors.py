"""The vision adapter's own error: a stable code the layer above maps to its own failures."""

from __future__ import annotations

from typing import Any


class VisionError(Exception):
    """A video that cannot be analysed, and why. Codes: VIDEO_UNREADABLE, UNSUPPORTED_CODEC,
    NO_VIDEO_STREAM, VIDEO_ENCRYPTED, NO_DECODABLE_FRAMES, INVALID_FPS, VIDEO_TOO_LARGE, VIDEO_TOO_LONG,
    METADATA_EXTRACTION_FAILED."""

    def __init__(self, code: str, message: str, *, retryable: bool = False, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code, self.message, self.retryable, self.details = code, message, retryable, details or {}
