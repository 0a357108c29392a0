"""The document adapter's own error: a stable code the layer above maps to the job's failure."""

from __future__ import annotations

from typing import Any


class DocumentError(Exception):
    """A document that cannot be read, and why. Codes: DOCUMENT_ENCRYPTED, DOCUMENT_CORRUPT,
    DOCUMENT_ZIP_BOMB, DOCUMENT_TOO_MANY_PAGES, OCR_UNAVAILABLE."""

    def __init__(self, code: str, message: str, *, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code, self.message, self.details = code, message, details or {}
