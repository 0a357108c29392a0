"""Text helpers the study generators share: sentences with their page, words, stopwords, containment.

Pure (no database, no model): the offline generator, the model path's checks and the tests
use the same definition of "a page contains an answer" (case and whitespace folded).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each either else few for
    from further had has have having he her here hers herself him himself his how however i if in into
    is it its itself just like may me might more most must my myself no nor not now of off on once
    only or other our ours ourselves out over own same shall she should so some such than that the
    their theirs them themselves then there these they this those through thus to too under until up
    upon us very was we were what when where which while who whom why will with within without would
    yet you your yours yourself one two three many much often every each first second use used using
    example examples called known e.g i.e etc page chapter figure table section see
    aber alle allem allen aller alles als also am an ander andere anderen anderer anderes auch auf aus
    bei beim bin bis bist da damit dann das dass dein deine dem den denn der des dessen deshalb die
    dies diese diesem diesen dieser dieses doch dort du durch ein eine einem einen einer eines einige
    er es etwa euch euer für gegen hat hatte hier hin hinter ich ihm ihn ihnen ihr ihre im in indem
    ins ist ja jede jedem jeden jeder jedes jedoch jene kann kein keine können man manche mehr mein
    mit muss nach nicht nichts noch nun nur ob oder ohne sehr sein seine sich sie sind so solche soll
    sondern sowie über um und uns unter vom von vor war waren was weil welche wenn wer werden wie
    wieder will wir wird wo zu zum zur zwischen beispiel seite kapitel abbildung tabelle
    bezeichnet bezeichnen versteht verstehen means refers denotes defined""".split()
)

GLOSS = re.compile(r"^[^\W\d_][\w\- ]{0,48}:\s+\S")
WORD = re.compile(r"[^\W\d_][\w\-']*", re.UNICODE)
# A sentence ends at . ! ? (not after a single capital or a common abbreviation) before a space
# and a capital, digit or quote; a blank line ends one too.
_SPLIT = re.compile(
    r"(?<=[.!?])(?<!\b[A-Z]\.)(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\bz\.B\.)\s+(?=[\"'“„(\[]?[A-ZÄÖÜ0-9])|\n\s*\n"
)


@dataclass(frozen=True)
class Sentence:
    text: str  # whitespace folded
    page: int
    index: int  # position in the document, for document order


def fold(text: str) -> str:
    """Whitespace folded to single spaces, case folded: how containment is compared."""
    return " ".join(text.split()).casefold()


def contains(page_text: str, answer: str) -> bool:
    """Whether a page's text holds the answer (case and whitespace aside)."""
    needle = fold(answer)
    return bool(needle) and needle in fold(page_text)


def sentences(pages: list[tuple[int, str, list[str]]]) -> list[Sentence]:
    """Every sentence of every page, in document order; headings-only lines are left out."""
    found: list[Sentence] = []
    for number, text, headings in pages:
        heading_set = {" ".join(h.split()).casefold() for h in headings or []}
        for chunk in _SPLIT.split(text or ""):
            for line in _lines(chunk, heading_set):
                found.append(Sentence(line, number, len(found)))
    return found


def _lines(chunk: str, headings: set[str]) -> list[str]:
    """A chunk's sentences: a line that is a heading, or a short line without a full stop that the
    next line does not continue (a title, a bullet), stands alone."""
    out: list[str] = []
    current: list[str] = []
    for raw in chunk.splitlines():
        line = " ".join(raw.split()).lstrip("•*-–· ").strip()
        if not line:
            continue
        if line.casefold() in headings:
            if current:
                out.append(" ".join(current))
                current = []
            continue
        if GLOSS.match(line) or (_title(current) and line[:1].isupper()):  # a glossary entry or a title stands alone
            if current:
                out.append(" ".join(current))
            current = []
        current.append(line)
        if GLOSS.match(line):
            out.append(line)
            current = []
    if current:
        out.append(" ".join(current))
    return [s for s in out if len(WORD.findall(s)) >= 3]


def _title(current: list[str]) -> bool:
    """Whether the lines gathered so far are one short line without a closing mark: a title (a
    heading the extraction did not mark), which the next line does not continue."""
    return len(current) == 1 and len(current[0].split()) <= 6 and current[0][-1] not in ".,;:!?-–"


def words(text: str) -> list[str]:
    return WORD.findall(text)


def is_stop(word: str) -> bool:
    return word.casefold() in STOPWORDS or len(word) < 2
