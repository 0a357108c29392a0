"""One document's extraction, start to end: fetch → check → pages (text, OCR) → thumbnails → index.

The use case behind the ``document_extraction`` job (jobs/documents.py hands over, the runner
records the outcome). Idempotent: a run replaces the document's pages and thumbnails. The
source is downloaded to a temp dir under ``DATA_DIR/tmp`` named after the job, removed on every
exit path. Pages are written in batches with the job's progress, in the same commit.

PDF pages with a text layer take the fast path (pypdf); a page without one is rendered
(pypdfium2) and OCR'd. Page images are OCR'd. The document's own status, stage, progress and
error follow the job's in the same commits.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator

from flask import current_app
from sqlalchemy import delete, select

from backend_app.adapters.documents import language, ocr, office, plain, raster, zipguard
from backend_app.adapters.documents.errors import DocumentError
from backend_app.adapters.documents.pdf import PdfSource, needs_ocr
from backend_app.adapters.documents.sections import Section
from backend_app.adapters.storage import get_storage
from backend_app.extensions import db
from backend_app.failure_codes import retry_helps
from backend_app.models import Document, DocumentPage
from backend_app.models.base import utcnow
from backend_app.models.job import COMPLETED, FAILED, RUNNING
from backend_app.queue.errors import JobFailure
from backend_app.services.documents import index
from backend_app.services.video.workdir import download_source, make_workdir

log = logging.getLogger(__name__)
Progress = Callable[[str, float], None]
BATCH = 25  # pages written (and progress reported) per commit


class ExtractedPage:
    """A page as the readers found it, before it is stored."""

    __slots__ = ("number", "text", "headings", "ocr", "thumb")

    def __init__(self, number: int, text: str, headings: list[str], ocr_used: bool, thumb: bytes | None):
        self.number, self.text, self.headings, self.ocr, self.thumb = number, text, headings, ocr_used, thumb


def _load(document_id: str | None, user_id: str | None) -> Document:
    document = db.session.get(Document, document_id) if document_id else None
    if document is None or (user_id and document.user_id != user_id):
        raise JobFailure("DOCUMENT_NOT_FOUND", "The document of this job no longer exists.")
    return document


def fetch(document: Document, workdir: str) -> str:
    """Download the source object to the run's temp dir."""
    path = os.path.join(workdir, f"source.{document.kind}")
    return download_source(document.storage_key, path, "document")


def _too_many(count: int, limit: int) -> DocumentError:
    return DocumentError(
        "DOCUMENT_TOO_MANY_PAGES",
        f"The document has {count} pages (at most {limit}).",
        details={"pages": count, "limit": limit},
    )


def _pdf_pages(path: str, limit: int) -> Iterator[ExtractedPage]:
    with PdfSource(path) as pdf:
        if pdf.page_count > limit:
            raise _too_many(pdf.page_count, limit)
        outline = pdf.headings()  # the author's bookmarks win; without any, headings by type size
        for index in range(pdf.page_count):
            text, by_size = pdf.read(index)
            headings = outline.get(index, []) if outline else [title for _, title in by_size]
            scanned = needs_ocr(text)
            if scanned:
                picture = pdf.render(index, raster.OCR_LONG_SIDE)
                text = ocr.read_text(picture)
                thumb = raster.thumbnail_jpeg(picture)
            else:
                thumb = raster.thumbnail_jpeg(pdf.render(index, raster.THUMB_LONG_SIDE))
            yield ExtractedPage(index + 1, text, headings, scanned, thumb)


def _sections(document: Document, path: str, settings) -> list[Section]:
    if document.kind in zipguard.REQUIRED:
        zipguard.check(path, document.kind, max_unzipped=settings.max_document_unzipped_bytes)
    readers = {
        "docx": office.read_docx,
        "pptx": office.read_pptx,
        "odt": office.read_odt,
        "markdown": lambda p: plain.read(p, markdown=True),
        "text": lambda p: plain.read(p, markdown=False),
    }
    return readers[document.kind](path)


def read_pages(document: Document, path: str, settings) -> tuple[int, Iterator[ExtractedPage]]:
    """(page count, the pages one by one) of the fetched source; DocumentError when unreadable."""
    limit = settings.max_document_pages
    if document.kind == "pdf":
        with PdfSource(path) as pdf:
            count = pdf.page_count
        return count, _pdf_pages(path, limit)
    if document.kind == "image":
        picture = raster.open_image(path)

        def one() -> Iterator[ExtractedPage]:
            text = ocr.read_text(raster.fit(picture, raster.OCR_LONG_SIDE))  # a 12 MP photo costs 5x more
            yield ExtractedPage(1, text, [], True, raster.thumbnail_jpeg(picture))

        return 1, one()
    sections = _sections(document, path, settings)
    if len(sections) > limit:
        raise _too_many(len(sections), limit)
    pages = (ExtractedPage(n, s.text, s.headings, False, None) for n, s in enumerate(sections, start=1))
    return len(sections), pages


def _mirror(document: Document, **values) -> None:
    for name, value in values.items():
        setattr(document, name, value)


def _store(document: Document, page: ExtractedPage) -> DocumentPage:
    thumb_key = None
    if page.thumb:
        thumb_key = f"{document.prefix}pages/{page.number}.jpg"
        get_storage().put_bytes(thumb_key, page.thumb, "image/jpeg")
    text = page.text.strip()
    row = DocumentPage(
        document_id=document.id,
        user_id=document.user_id,
        session_id=document.session_id,
        number=page.number,
        text=text,
        words=len(text.split()),
        ocr=page.ocr,
        language=language.detect(text),
        headings=[h[:300] for h in page.headings],
        thumb_key=thumb_key,
    )
    db.session.add(row)
    return row


def _reset(document: Document) -> None:
    """Remove what an earlier run of this document stored (pages, thumbnails)."""
    db.session.execute(delete(DocumentPage).where(DocumentPage.document_id == document.id))
    get_storage().delete_prefix(f"{document.prefix}pages/")


def _write_pages(document: Document, count: int, pages: Iterator[ExtractedPage], progress: Progress) -> list:
    stored: list[DocumentPage] = []
    for page in pages:
        stored.append(_store(document, page))
        if len(stored) % BATCH == 0:
            percent = 10 + 80 * len(stored) / max(count, 1)
            _mirror(document, stage="pages", progress=int(percent))
            progress("pages", percent)  # commits the batch with the job's progress
    return stored


def extract(document_id: str | None, progress: Progress, *, run_id: str, user_id: str | None = None) -> dict:
    """Extract one document (of ``user_id``, when given) in a temp dir named after ``run_id``."""
    settings = current_app.config["SETTINGS"]
    document = _load(document_id, user_id)
    workdir = make_workdir(settings, run_id)
    try:
        _mirror(document, status=RUNNING, stage="fetch", progress=2, error_code=None, error_message=None)
        progress("fetch", 2)
        path = fetch(document, workdir)
        _reset(document)
        _mirror(document, stage="read", progress=8)
        progress("read", 8)
        count, pages = read_pages(document, path, settings)
        stored = _write_pages(document, count, pages, progress)
        _mirror(document, stage="index", progress=92)
        progress("index", 92)
        indexed = index.pages(document, stored)
        _complete(document, stored)
        return {
            "document_id": document.id,
            "pages": len(stored),
            "ocr_pages": sum(p.ocr for p in stored),
            "indexed": indexed,
        }
    except DocumentError as exc:
        _fail(document.id, exc.code, exc.message)
        raise JobFailure(exc.code, exc.message, retryable=retry_helps(exc.code)) from None
    except BaseException:
        _drop_outputs_if_deleted(document.id, document.prefix)
        raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _complete(document: Document, stored: list[DocumentPage]) -> None:
    languages = Counter(p.language for p in stored if p.language != language.UNKNOWN)
    _mirror(
        document,
        status=COMPLETED,
        stage="done",
        progress=100,
        page_count=len(stored),
        language=languages.most_common(1)[0][0] if languages else language.UNKNOWN,
        completed_at=utcnow(),
    )
    db.session.commit()


def _fail(document_id: str, code: str, message: str) -> None:
    """Write the failure on the document row (the runner writes it on the job)."""
    db.session.rollback()
    document = db.session.get(Document, document_id)
    if document is not None:  # a retryable code goes back to the queue: the row keeps its status
        _mirror(document, error_code=code, error_message=message, **({} if retry_helps(code) else {"status": FAILED}))
        db.session.commit()


def _drop_outputs_if_deleted(document_id: str, prefix: str) -> None:
    """When the document was deleted while this run worked, remove what it stored after the delete."""
    try:
        db.session.rollback()
        if db.session.scalar(select(Document.id).where(Document.id == document_id)) is None:
            removed = get_storage().delete_prefix(prefix)
            log.info("document deleted while its job ran; its late outputs removed", extra={"removed": removed})
    except Exception:  # the database or storage is down: the run's own failure is what gets reported
        log.warning("could not check whether the document still exists", exc_info=True)
