"""Pages of a document that has none of its own: blocks of text cut at headings and ~500 words.

DOCX, Markdown and plain text have no fixed pages. A DOCX with explicit page breaks is cut
exactly there (the author's pages). Otherwise a new page starts at a top-level heading (level 1
or 2) once the current page has text, and at the first paragraph boundary after
``SECTION_WORDS`` words, so a page is a readable unit a citation can point at.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SECTION_WORDS = 500


@dataclass
class Block:
    """A paragraph, or a heading (``level`` 1–9), or an explicit page break (``brk``)."""

    text: str = ""
    level: int | None = None
    brk: bool = False


@dataclass
class Section:
    """One page as extracted: its text and the headings on it, in reading order."""

    text: str = ""
    headings: list[str] = field(default_factory=list)
    image: object | None = None  # a picture to OCR (PIL image), when the page has no text of its own


def _words(text: str) -> int:
    return len(text.split())


def split(blocks: list[Block], *, by_breaks: bool | None = None, section_words: int = SECTION_WORDS) -> list[Section]:
    """Cut blocks into pages: at explicit breaks when there are any (or ``by_breaks``), else at
    headings and ~``section_words`` words."""
    if by_breaks is None:
        by_breaks = any(block.brk for block in blocks)
    pages: list[Section] = []
    parts: list[str] = []
    headings: list[str] = []
    words = 0

    def close() -> None:
        nonlocal parts, headings, words
        if parts or headings:
            pages.append(Section("\n".join(parts).strip(), headings))
        parts, headings, words = [], [], 0

    for block in blocks:
        if block.brk:
            close()
            continue
        text = block.text.strip()
        if not text:
            continue
        if not by_breaks and words and (block.level in (1, 2) or words >= section_words):
            close()
        if block.level is not None:
            headings.append(text)
        parts.append(text)
        words += _words(text)
    close()
    return pages or [Section("", [])]
