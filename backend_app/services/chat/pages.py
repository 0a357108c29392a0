"""Direct answers about document pages and chapters, from the passage index.

- "summarise page 4", "fasse Seite 4 zusammen", "what is on page 4 of report.pdf?": an
  extractive summary of that page (of each document in scope that has one, or the one named).
- "what does page 3 say about tides?": the page's sentences about it.
- "what does chapter 2 say about X?", "was steht in Kapitel 2 über X?": a chapter is a heading
  on a page ("Chapter 2: Tides", "2. Tides"); it runs until the next page with another
  chapter's heading. Its sentences about X, or its summary when nothing is asked about. A
  document with no headings at all falls back to its lines: a short line that starts with
  "Chapter 2"/"Kapitel 2" or "2." and a title opens chapter 2.
A question is taken only when the scope has document pages; every page is read through the
tenant-scoped passage index and cited as ``{kind: "page", document_id, page, snippet}``.
"""

from __future__ import annotations

import re

from backend_app.services.chat import passage_search
from backend_app.services.chat.facts import Facts
from backend_app.services.chat.passage_search import PassageHit, Source
from backend_app.services.chat.phrasing import Reply
from backend_app.services.chat.query import fold, words
from backend_app.services.chat.sources import about, cite_passage, closed, page_headings, quote, summary, topic

PAGE = re.compile(r"\b(?:page|seite|p\.)\s*(\d{1,4})\b", re.IGNORECASE)
CHAPTER = re.compile(r"\b(?:chapter|kapitel|section|abschnitt)\s+(\d{1,3}|[ivxlc]{1,7})\b", re.IGNORECASE)
NUMBERED = re.compile(  # "Chapter 2: Tides", "Kapitel II", "2. Tides" (a bare roman numeral is too often a word)
    r"^\s*(?:(?:chapter|kapitel|section|abschnitt|part|teil)\s+(\d{1,3}|[ivxlc]{1,7})|(\d{1,3}))\b", re.IGNORECASE
)
TITLE_LINE = re.compile(  # a line of text that opens a chapter: "Chapter 2: Tides", "Kapitel 2", "2. Tides"
    r"^\s*(?:(?:chapter|kapitel)\s+(\d{1,3}|[ivxlc]{1,7})\b|(\d{1,3})\.\s+\w)", re.IGNORECASE
)
MAX_TITLE_WORDS = 12
MAX_DOCUMENTS, MAX_CHAPTER_PAGES, MAX_PAGES_READ = 3, 30, 2000
ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100}
FRAME = frozenset("summarise summarize summary zusammen fasse zusammenfassung say says sagt steht written".split())


def _number(token: str) -> int | None:
    """2, "ii" -> 2; None for a word that is not a numeral."""
    if token.isdigit():
        return int(token)
    values = [ROMAN.get(c) for c in token.lower()]
    if not values or None in values:
        return None
    total = sum(-v if n + 1 < len(values) and v < values[n + 1] else v for n, v in enumerate(values))
    return total if total > 0 else None


def respond(question: str, facts: Facts) -> Reply | None:
    """The page or chapter answer, or None (not such a question, or no documents in scope)."""
    page, chapter = PAGE.search(question), CHAPTER.search(question)
    if not page and not chapter:
        return None
    documents = passage_search.documents(facts.tenant)
    if not documents:
        return None
    named = _named(question, documents)
    chosen = [named] if named else documents[:MAX_DOCUMENTS]
    wanted = [w for w in topic(question, named.filename if named else None, FRAME) if not _is_reference(w, question)]
    if chapter:
        number = _number(chapter.group(1))
        return _chapter(facts, chosen, number, chapter.group(0), wanted) if number else None
    return _page(facts, chosen, int(page.group(1)), wanted)


def _is_reference(word: str, question: str) -> bool:
    """The "4" of "page 4" and the "2" of "chapter 2" are not topics."""
    spans = [m.group(1) for pattern in (PAGE, CHAPTER) for m in pattern.finditer(question)]
    return word in spans


def _named(question: str, documents: list[Source]) -> Source | None:
    """The document whose filename (or its stem) the question names; the longest name wins."""
    folded = " " + " ".join(fold(w) for w in words(question)) + " "
    best = None
    for document in documents:
        name = [fold(w) for w in words(document.filename)]
        for form in (name, name[:-1]):
            if form and f" {' '.join(form)} " in folded and (best is None or len(form) > best[0]):
                best = (len(form), document)
    return best[1] if best else None


def _page(facts: Facts, documents: list[Source], number: int, wanted: list[str]) -> Reply:
    parts, citations = [], []
    for document in documents:
        found = passage_search.listing(facts.tenant, kinds=("page",), document_id=document.id, page=number, limit=1)
        if not found:
            continue
        hit = found[0]
        if wanted:
            said = about(hit.text, wanted)
            body = " ".join(quote(s) for s in said) if said else f"nothing about {_shown(wanted)}"
            parts.append(f"Page {number} of {document.filename} says about {_shown(wanted)}: {body}")
        else:
            parts.append(f"Page {number} of {document.filename}: {quote(summary(hit.text), 500)}")
        citations.append(cite_passage(hit, wanted))
    if not parts:
        have = "; ".join(f"{d.filename} has {d.count} pages with text" for d in documents)
        return Reply(f"There is no page {number} with text in {_names(documents)} ({have}).", kind="page")
    return Reply(" ".join(closed(p) for p in parts), citations, "page")


def _chapter_of(heading: str) -> int | None:
    found = NUMBERED.match(heading)
    return _number(found.group(1) or found.group(2)) if found else None


def _title_lines(hit: PassageHit) -> list[str]:
    """The lines of a page that read as a chapter's title (for documents without headings)."""
    lines = (" ".join(line.split()) for line in hit.text.splitlines())
    return [line for line in lines if TITLE_LINE.match(line) and len(line.split()) <= MAX_TITLE_WORDS]


def _chapter_pages(pages: list[PassageHit], number: int) -> tuple[str, list[PassageHit]]:
    """The heading that opens chapter ``number`` and its pages ("", [] when no heading opens it);
    title lines stand in for headings when no page of the document has any."""
    heads = page_headings if any(page_headings(hit) for hit in pages) else _title_lines
    start = None
    for n, hit in enumerate(pages):
        found = next((h for h in heads(hit) if _chapter_of(h) == number), None)
        if found:
            start = (n, found)
            break
    if start is None:
        return "", []
    first, heading = start
    chapter = [pages[first]]
    for hit in pages[first + 1 : first + MAX_CHAPTER_PAGES]:
        if any(_chapter_of(h) not in (None, number) for h in heads(hit)):
            break
        chapter.append(hit)
    return heading, chapter


def _chapter(facts: Facts, documents: list[Source], number: int, asked: str, wanted: list[str]) -> Reply:
    parts, citations = [], []
    for document in documents:
        pages = passage_search.listing(facts.tenant, kinds=("page",), document_id=document.id, limit=MAX_PAGES_READ)
        heading, chapter = _chapter_pages(pages, number)
        if not chapter:
            continue
        span = f"page {chapter[0].page}" if len(chapter) == 1 else f"pages {chapter[0].page}–{chapter[-1].page}"
        where = f"{quote(heading, 80)} of {document.filename} ({span})"
        if not wanted:
            parts.append(f"{where}: {quote(summary(' '.join(h.text for h in chapter)), 500)}")
            citations += [cite_passage(h) for h in chapter[:3]]
            continue
        found = [(hit, s) for hit in chapter for s in about(hit.text, wanted, 2)][:3]
        if not found:
            parts.append(f"{where} does not mention {_shown(wanted)}")
            continue
        parts.append(f"{where} says about {_shown(wanted)}: " + " ".join(quote(s) for _, s in found))
        for hit, _ in found:
            if hit.page not in [c["page"] for c in citations if c["document_id"] == hit.document_id]:
                citations.append(cite_passage(hit, wanted))
    if not parts:
        return Reply(f"No heading in {_names(documents)} opens {asked.strip()}.", kind="page")
    return Reply(" ".join(closed(p) for p in parts), citations, "page")


def _shown(wanted: list[str]) -> str:
    return ", ".join(f"“{w}”" for w in wanted[:4])


def _names(documents: list[Source]) -> str:
    return ", ".join(d.filename for d in documents)
