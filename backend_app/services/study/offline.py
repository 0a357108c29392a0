"""The offline study generator: no model, only the pages' own sentences and word statistics.

* summary: the sentences closest to the document's tf-idf centroid (each sentence a tf-idf
  vector over its words, idf over pages), in document order;
* key terms: terms the text defines ("X is a …", "X refers to …", "X means …", "X: …",
  "X ist ein/eine …", "X bezeichnet …", "Unter X versteht man …"), ranked by tf-idf over the
  pages (headings count double); the definition is the defining sentence's predicate;
* flashcards: cloze cards, the defining sentence with its term blanked out;
* quiz: "which term …" with the right term and three distractors from the other key terms,
  options in alphabetical order (deterministic).

Every item cites the page its sentence comes from, so the page's text holds its answer.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from backend_app.services.study.text import Sentence, contains, is_stop, sentences, words

BLANK = "_____"
MAX_TERMS, MAX_CARDS, MAX_QUIZ = 30, 60, 20
_TERM = r"[^\W\d_][\w\-]*(?:\s+(?:of|for|in|der|des|von)?\s*[^\W\d_][\w\-]*){0,3}"
_ARTICLE = r"(?:(?:the|a|an|der|die|das|ein|eine)\s+)?"
# (pattern, German?) — group "term" is the defined term, group "definition" what it is.
DEFINING = [
    re.compile(
        rf"^{_ARTICLE}(?P<term>{_TERM})\s*(?:\([^)]{{1,40}}\)\s*)?"
        r"(?:is|are)\s+(?:defined as\s+)?(?P<definition>(?:a|an|the)\s+.{8,})$",
        re.IGNORECASE,
    ),
    re.compile(
        rf"^{_ARTICLE}(?P<term>{_TERM})\s*(?:\([^)]{{1,40}}\)\s*)?"
        r"(?:refers to|means|denotes|is defined as|describes)\s+(?P<definition>.{8,})$",
        re.IGNORECASE,
    ),
    re.compile(
        rf"^{_ARTICLE}(?P<term>{_TERM})\s+(?:ist|sind)\s+(?P<definition>(?:ein|eine|einer|der|die|das)\s+.{{8,}})$",
        re.IGNORECASE,
    ),
    re.compile(
        rf"^{_ARTICLE}(?P<term>{_TERM})\s+(?:bezeichnet|beschreibt|bedeutet)\s+(?P<definition>.{{8,}})$",
        re.IGNORECASE,
    ),
    re.compile(rf"^Unter\s+{_ARTICLE}(?P<term>{_TERM})\s+versteht man\s+(?P<definition>.{{8,}})$", re.IGNORECASE),
    re.compile(rf"^(?P<term>{_TERM}):\s+(?P<definition>.{{8,}})$"),
]
PRONOUN_STARTS = frozenset("it this that these those there here he she they we you es dies diese dieser er sie".split())


@dataclass
class Definition:
    term: str
    definition: str
    sentence: Sentence


def generate(pages: list[tuple[int, str, list[str]]]) -> dict:
    """Study material for pages ``[(number, text, headings)]``: summary, key terms, flashcards, quiz."""
    found = sentences(pages)
    scores = term_scores(pages)
    definitions = find_definitions(found)
    terms = key_terms(definitions, scores, found)
    return {
        "summary": summary(found, pages),
        "key_terms": [{"term": d.term, "definition": d.definition, "page": d.sentence.page} for d in terms],
        "flashcards": flashcards(definitions, terms, scores),
        "quiz": quiz(terms),
    }


def _vector(tokens: list[str], idf: dict[str, float]) -> dict[str, float]:
    counts = Counter(t for t in tokens if t in idf)
    vec = {t: c * idf[t] for t, c in counts.items()}
    norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
    return {t: v / norm for t, v in vec.items()}


def summary(found: list[Sentence], pages: list[tuple[int, str, list[str]]], limit: int | None = None) -> str:
    """The sentences nearest the document's tf-idf centroid, in document order."""
    if not found:
        return ""
    page_words = [{w.casefold() for w in words(text) if not is_stop(w)} for _n, text, _h in pages]
    df = Counter(w for ws in page_words for w in ws)
    n = len(pages)
    idf = {w: math.log(1 + n / c) for w, c in df.items()}
    vectors = [_vector([w.casefold() for w in words(s.text)], idf) for s in found]
    centroid: dict[str, float] = defaultdict(float)
    for vec in vectors:
        for t, v in vec.items():
            centroid[t] += v
    norm = math.sqrt(sum(v * v for v in centroid.values())) or 1.0

    def score(i: int) -> float:
        length = len(words(found[i].text))
        fit = 1.0 if 8 <= length <= 40 else 0.6  # fragments and run-ons make poor summaries
        return fit * sum(v * centroid[t] for t, v in vectors[i].items()) / norm

    limit = limit or max(3, min(8, len(found) // 15))
    best = sorted(range(len(found)), key=lambda i: (-score(i), i))[:limit]
    return " ".join(found[i].text for i in sorted(best))


def term_scores(pages: list[tuple[int, str, list[str]]]) -> dict[str, float]:
    """tf-idf of 1–3 word terms (no stopword at either end) over the pages, headings counted twice;
    keys are case-folded."""
    tf: Counter[str] = Counter()
    df: Counter[str] = Counter()
    for _number, text, headings in pages:
        seen: Counter[str] = Counter()
        for part in [text, *(headings or []), *(headings or [])]:
            for run in re.split(r"[.!?;:,()\[\]\"“”„]+", part):
                tokens = words(run)
                for size in (1, 2, 3):
                    for i in range(len(tokens) - size + 1):
                        gram = tokens[i : i + size]
                        if is_stop(gram[0]) or is_stop(gram[-1]) or (size == 1 and len(gram[0]) < 4):
                            continue
                        seen[" ".join(gram).casefold()] += 1
        tf.update(seen)
        df.update(seen.keys())
    n = len(pages) or 1
    return {t: c * math.log(1 + n / df[t]) * (1 + 0.5 * t.count(" ")) for t, c in tf.items() if c >= 1}


def find_definitions(found: list[Sentence]) -> list[Definition]:
    """The first defining sentence of each term, in document order."""
    seen: set[str] = set()
    out: list[Definition] = []
    for sentence in found:
        match = _defining(sentence.text)
        if match is None:
            continue
        term, definition = match
        key = term.casefold()
        if key not in seen:
            seen.add(key)
            out.append(Definition(term, definition, sentence))
    return out


def _defining(text: str) -> tuple[str, str] | None:
    for pattern in DEFINING:
        m = pattern.match(text)
        if not m:
            continue
        term = " ".join(m.group("term").split())
        first, last = term.split()[0], term.split()[-1]
        if first.casefold() in PRONOUN_STARTS or is_stop(first) or is_stop(last) or len(term) < 3:
            continue
        definition = m.group("definition").strip().rstrip(".").strip()
        if len(words(definition)) >= 3:
            return term, definition
    return None


def key_terms(definitions: list[Definition], scores: dict[str, float], found: list[Sentence]) -> list[Definition]:
    """Defined terms by their statistics; when the text defines fewer than five, the strongest other
    terms join with the first sentence that uses them (most-scored first, then document order)."""
    ranked = sorted(definitions, key=lambda d: (-scores.get(d.term.casefold(), 0.0), d.sentence.index))[:MAX_TERMS]
    if len(ranked) >= 5:
        return ranked
    taken = {d.term.casefold() for d in ranked}
    for term, _score in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(ranked) >= 5:
            break
        if term in taken or any(term in t or t in term for t in taken):
            continue
        sentence = next((s for s in found if contains(s.text, term)), None)
        if sentence is None:
            continue
        surface = _surface(sentence.text, term)
        ranked.append(Definition(surface, sentence.text, sentence))
        taken.add(term)
    return ranked


def _surface(text: str, term: str) -> str:
    """The term as the sentence writes it."""
    m = re.search(r"\s+".join(re.escape(w) for w in term.split()), text, re.IGNORECASE)
    return m.group(0) if m else term


def _cloze(text: str, term: str) -> str | None:
    pattern = re.compile(r"(?<!\w)" + r"\s+".join(re.escape(w) for w in term.split()) + r"(?!\w)", re.IGNORECASE)
    blanked, count = pattern.subn(BLANK, text)
    return blanked if count else None


def flashcards(definitions: list[Definition], terms: list[Definition], scores: dict[str, float]) -> list[dict]:
    """Cloze cards from the defining sentences (then from the other key terms' sentences), document order."""
    cards, seen = [], set()
    for d in sorted([*definitions, *terms], key=lambda d: d.sentence.index):
        key = d.term.casefold()
        question = _cloze(d.sentence.text, d.term)
        if key in seen or question is None:
            continue
        seen.add(key)
        cards.append({"question": question, "answer": _surface(d.sentence.text, d.term), "page": d.sentence.page})
    return cards[:MAX_CARDS]


_GERMAN = frozenset("der die das ein eine ist sind und nicht mit von den dem bei wird werden auch sich".split())
_ENGLISH = frozenset("the a an is are and not with of to in that which by for".split())


def _german(text: str) -> bool:
    tokens = [w.casefold() for w in words(text)]
    return sum(t in _GERMAN for t in tokens) > sum(t in _ENGLISH for t in tokens)


def quiz(terms: list[Definition]) -> list[dict]:
    """A multiple-choice question per key term: its blanked definition, the term and up to three
    other key terms (the next ones by rank) as options, alphabetically."""
    if len(terms) < 2:
        return []
    questions = []
    for i, d in enumerate(terms[:MAX_QUIZ]):
        described = _cloze(d.definition, d.term) or d.definition
        german = _german(d.sentence.text)
        if d.definition == d.sentence.text:
            ask = "Welcher Begriff vervollständigt den Satz" if german else "Which term completes this sentence"
        else:
            ask = "Welcher Begriff wird so beschrieben" if german else "Which term is described as"
        question = f"{ask}: “{described}”?"
        others = [t.term for t in terms[i + 1 :] + terms[:i] if t.term.casefold() != d.term.casefold()][:3]
        options = sorted({d.term, *others}, key=str.casefold)
        questions.append({"question": question, "options": options, "answer": d.term, "page": d.sentence.page})
    return questions
