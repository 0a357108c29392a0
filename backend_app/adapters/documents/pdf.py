"""PDF: text per page with pypdf (the fast path), pictures of pages with pypdfium2.

A page whose text layer is (nearly) empty is a scan: the layer above renders it and OCRs the
picture. Encrypted files that need a password are ``DOCUMENT_ENCRYPTED``; a file pypdf cannot
parse is ``DOCUMENT_CORRUPT``. Outline entries (bookmarks) become the headings of the pages
they point at; a PDF without bookmarks gets its headings from the type: per page, a short line
set clearly larger than the page's body text (see ``headings_by_size``), read in the same pypdf
pass as the text (its visitor gives each text run's font size).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pypdf
import pypdfium2
from pypdf.errors import PdfReadError

from backend_app.adapters.documents.errors import DocumentError

log = logging.getLogger(__name__)
MIN_TEXT_CHARS = 16  # fewer letters than this on a page: a scan (or a picture) that needs OCR
HEADING_RATIO = 1.15  # a heading's type is at least this much larger than the page's body text
HEADING_MIN_POINTS = 1.5  # ... and at least this many points larger (10 vs 11 pt is no heading)
HEADING_MAX_WORDS = 12
MAX_HEADINGS_PER_PAGE = 8  # more "headings" than this on a page is a table or a poster, not an outline
logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings about sloppy files are not ours


def _corrupt(exc: Exception) -> DocumentError:
    return DocumentError("DOCUMENT_CORRUPT", f"The PDF cannot be read: {str(exc)[:200] or type(exc).__name__}.")


class PdfSource:
    """An open PDF: page count, text and outline headings per page, and rendered pictures."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        try:
            self.reader = pypdf.PdfReader(self.path, strict=False)
            if self.reader.is_encrypted and not self.reader.decrypt(""):
                raise DocumentError("DOCUMENT_ENCRYPTED", "The PDF is protected by a password; upload it unprotected.")
            self.page_count = len(self.reader.pages)
        except DocumentError:
            raise
        except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
            raise _corrupt(exc) from exc
        if self.page_count == 0:
            raise DocumentError("DOCUMENT_CORRUPT", "The PDF has no pages.")
        self._pdfium: pypdfium2.PdfDocument | None = None

    def text(self, index: int) -> str:
        """The text layer of page ``index`` (0-based); '' when it has none or it cannot be read."""
        return self.read(index)[0]

    def read(self, index: int) -> tuple[str, list[tuple[int, str]]]:
        """(text layer, headings found by type size as (level, title)) of page ``index`` (0-based);
        ('', []) when the page has no text layer or it cannot be read."""
        lines = _Lines()
        try:
            text = (self.reader.pages[index].extract_text(visitor_text=lines.visit) or "").strip()
        except Exception as exc:  # one broken content stream: the page goes to OCR instead
            log.info("pdf page text unreadable; page will be rendered", extra={"page": index + 1, "error": str(exc)})
            return "", []
        return text, headings_by_size(lines.done())

    def headings(self) -> dict[int, list[str]]:
        """Outline titles by 0-based page index (top two levels), in outline order."""
        found: dict[int, list[str]] = {}

        def walk(items, depth: int) -> None:
            for item in items:
                if isinstance(item, list):
                    if depth < 2:
                        walk(item, depth + 1)
                    continue
                try:
                    index = self.reader.get_destination_page_number(item)
                except Exception:
                    continue
                title = str(getattr(item, "title", "") or "").strip()
                if title and index is not None and index >= 0:
                    found.setdefault(index, []).append(title)

        try:
            walk(self.reader.outline, 1)
        except Exception:  # a broken outline is no reason to refuse the text
            return found
        return found

    def render(self, index: int, long_side: int):
        """Page ``index`` as a PIL image whose longer side is ``long_side`` pixels."""
        try:
            if self._pdfium is None:
                self._pdfium = pypdfium2.PdfDocument(self.path, password="" if self.reader.is_encrypted else None)
            page = self._pdfium[index]
            width, height = page.get_size()
            bitmap = page.render(scale=long_side / max(width, height, 1))
            return bitmap.to_pil().convert("RGB")
        except pypdfium2.PdfiumError as exc:
            raise _corrupt(exc) from exc

    def close(self) -> None:
        if self._pdfium is not None:
            self._pdfium.close()
            self._pdfium = None

    def __enter__(self) -> PdfSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Lines:
    """The page's lines as (text, largest type size in points), built from pypdf's text runs."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, float]] = []
        self.parts: list[str] = []
        self.size = 0.0

    def visit(self, text: str, cm, tm, font_dict, font_size) -> None:
        if not text:
            return
        size = _points(font_size, cm, tm)
        pieces = text.split("\n")
        for n, piece in enumerate(pieces):
            if piece.strip():
                self.parts.append(piece)
                self.size = max(self.size, size)
            if n + 1 < len(pieces):
                self.close()

    def close(self) -> None:
        line = " ".join("".join(self.parts).split())
        if line:
            self.lines.append((line, self.size))
        self.parts, self.size = [], 0.0

    def done(self) -> list[tuple[str, float]]:
        self.close()
        return self.lines


def _points(font_size, cm, tm) -> float:
    """The run's type size on the page: the font size scaled by the text and graphics matrices."""
    try:
        c = tm[2] * cm[0] + tm[3] * cm[2]
        d = tm[2] * cm[1] + tm[3] * cm[3]
        return abs(float(font_size)) * (c * c + d * d) ** 0.5
    except (TypeError, IndexError, ValueError):
        return 0.0


def headings_by_size(lines: list[tuple[str, float]]) -> list[tuple[int, str]]:
    """The (level, text) of the lines set clearly larger than the body (the size most characters
    have): short (≤ HEADING_MAX_WORDS words), not ending in a full stop; the largest size is level 1."""
    weight: dict[float, int] = {}
    for text, size in lines:
        if size > 0:
            weight[round(size, 1)] = weight.get(round(size, 1), 0) + len(text)
    if len(weight) < 2:
        return []
    body = max(weight, key=weight.get)
    found = [
        (round(size, 1), text)
        for text, size in lines
        if size >= body * HEADING_RATIO
        and size >= body + HEADING_MIN_POINTS
        and len(text.split()) <= HEADING_MAX_WORDS
        and not text.endswith((".", ",", ";"))
        and any(ch.isalpha() for ch in text)
    ]
    if len(found) > MAX_HEADINGS_PER_PAGE:
        return []
    sizes = sorted({size for size, _ in found}, reverse=True)
    return [(sizes.index(size) + 1, text) for size, text in found]


def needs_ocr(text: str) -> bool:
    """A page with (nearly) no text layer."""
    return sum(ch.isalnum() for ch in text) < MIN_TEXT_CHARS
