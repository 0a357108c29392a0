"""Writers of the passage index: what was said and shown in a video, and a document's pages.

Each writer replaces one source's passages (an analysis's speech and on-screen text, or a
document's pages) in the caller's transaction, so a re-run never leaves duplicates; the
caller commits. The search index (migration 0011) follows the rows by triggers (SQLite) or
an expression index (PostgreSQL). Erasure helpers remove a source's passages the same way.

``index_document_pages`` is called by the document extraction job; ``index_analysis_extras``
by the video job beside ``shot_documents.replace_for``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete

from backend_app.extensions import db
from backend_app.models import Analysis, Passage

MAX_TEXT_CHARS = 200_000  # one page or segment; a pathological page is cut, not refused
MAX_HEADINGS_CHARS = 400


def clock(seconds: float) -> str:
    """0:42, 1:05:09: the time label people read (citations, titles)."""
    total = int(max(0.0, float(seconds or 0.0)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _timed(items: Any) -> list[tuple[float, float, str, str | None]]:
    """(start_s, end_s, text, language) of well-formed report entries with text, in time order."""
    found = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        text = str(item.get("text") or "").strip()
        start = _num(item.get("start_s"))
        if not text or start is None:
            continue
        end = _num(item.get("end_s"))
        language = item.get("language")
        found.append((start, max(start, end if end is not None else start), text[:MAX_TEXT_CHARS], language))
    return sorted(found, key=lambda t: (t[0], t[1]))


def delete_for_analysis(user_id: str, analysis_id: str) -> int:
    """Remove an analysis's passages (the caller commits); returns the rows removed."""
    result = db.session.execute(delete(Passage).where(Passage.analysis_id == analysis_id, Passage.user_id == user_id))
    return result.rowcount or 0


def delete_for_document(user_id: str, document_id: str) -> int:
    """Remove a document's passages (the caller commits); returns the rows removed."""
    result = db.session.execute(delete(Passage).where(Passage.document_id == document_id, Passage.user_id == user_id))
    return result.rowcount or 0


def index_analysis_extras(analysis: Analysis, report: dict) -> int:
    """Replace the analysis's speech and on-screen text passages from ``report`` (``transcript``,
    ``texts``); returns how many were written."""
    delete_for_analysis(analysis.user_id, analysis.id)
    written = 0
    for kind, field, label in (("speech", "transcript", "spoken"), ("text", "texts", "on screen")):
        for position, (start, end, text, language) in enumerate(_timed(report.get(field))):
            db.session.add(
                Passage(
                    user_id=analysis.user_id,
                    session_id=analysis.session_id,
                    kind=kind,
                    analysis_id=analysis.id,
                    position=position,
                    start_s=start,
                    end_s=end,
                    filename=(analysis.filename or "")[:255],
                    title=f"{analysis.filename} — {label} at {clock(start)}"[:500],
                    text=text,
                    language=str(language)[:16] if language else None,
                )
            )
            written += 1
    return written


def _page_fields(page: Any) -> tuple[int, str, list[str], str | None]:
    """(number, text, headings, language) of a page object, dict or (number, text, headings) tuple."""
    if isinstance(page, tuple | list):
        number, text, headings = (list(page) + [None, None, None])[:3]
        language = page[3] if len(page) > 3 else None
    elif isinstance(page, dict):
        number, text, headings, language = (page.get(k) for k in ("number", "text", "headings", "language"))
    else:
        number, text, headings, language = (getattr(page, k, None) for k in ("number", "text", "headings", "language"))
    heads = [str(h).strip() for h in headings or [] if str(h or "").strip()]
    return int(number), str(text or ""), heads, str(language)[:16] if language else None


def page_title(filename: str, number: int, headings: Iterable[str]) -> str:
    """ "report.pdf, page 3" and the page's headings: headings are searchable ("chapter 2")."""
    heads = " · ".join(headings)[:MAX_HEADINGS_CHARS]
    return (f"{filename}, page {number}" + (f": {heads}" if heads else ""))[:500]


def index_document_pages(user_id: str, session_id: str, document_id: str, filename: str, pages: Iterable[Any]) -> int:
    """Replace a document's page passages: one per page with text (pages: objects, dicts or
    (number, text, headings) tuples; numbers 1-based); returns how many were written."""
    delete_for_document(user_id, document_id)
    written = 0
    for page in pages:
        number, text, headings, language = _page_fields(page)
        if number < 1 or not (text.strip() or headings):
            continue
        db.session.add(
            Passage(
                user_id=user_id,
                session_id=session_id,
                kind="page",
                document_id=document_id,
                position=number,
                page=number,
                filename=(filename or "")[:255],
                title=page_title(filename, number, headings),
                text=text[:MAX_TEXT_CHARS] or " ".join(headings),
                language=language,
            )
        )
        written += 1
    return written
