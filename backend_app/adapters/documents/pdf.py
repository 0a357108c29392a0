"""PDF: text per page with pypdf (the fast path), pictures of pages with pypdfium2.

A page whose text layer is (nearly) empty is a scan: the layer above renders it and OCRs the
picture. Encrypted files that need a password are ``DOCUMENT_ENCRYPTED``; a file pypdf cannot
parse is ``DOCUMENT_CORRUPT``. Outline entries (bookmarks) become the headings of the pages
they point at.
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
        try:
            return (self.reader.pages[index].extract_text() or "").strip()
        except Exception as exc:  # one broken content stream: the page goes to OCR instead
            log.info("pdf page text unreadable; page will be rendered", extra={"page": index + 1, "error": str(exc)})
            return ""

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


def needs_ocr(text: str) -> bool:
    """A page with (nearly) no text layer."""
    return sum(ch.isalnum() for ch in text) < MIN_TEXT_CHARS
