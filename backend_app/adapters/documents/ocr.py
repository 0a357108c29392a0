"""Text of a page picture, read by the offline OCR engine (``adapters/ai/ocr.py``).

Until that engine is part of this build, reading a picture raises ``OCR_UNAVAILABLE``.
"""

from __future__ import annotations

from backend_app.adapters.documents.errors import DocumentError


def available() -> bool:
    """Whether this build can read text from pictures."""
    return False


def read_text(image) -> str:
    """The text on a page picture (PIL RGB image), lines in reading order."""
    raise DocumentError("OCR_UNAVAILABLE", "This build has no OCR engine to read scanned pages.")
