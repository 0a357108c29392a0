"""Turning a user's question into safe search terms, and picking a snippet from a document.

Any text is accepted (quotes, NEAR, ``*``, ``-``, brackets, any script): it is reduced to
plain letter/digit words, stop words (English and German) are dropped, and what is left is
quoted by the backend. Nothing the user types becomes query syntax.
"""

from __future__ import annotations

import re
import unicodedata

MAX_TERMS = 24  # a long, polite question keeps the words at its end (12 lost "… the QR code appears?")
MAX_TERM_CHARS = 40
_WORD = re.compile(r"[^\W_]+")
# A sentence ends at . ! ? ; followed by a space or the end ("0.31" stays whole).
_SENTENCE = re.compile(r"(?:[^.!?;\n]|[.!?;](?=[^\s.!?;]))+[.!?;]*")

STOP_WORDS = frozenset(
    """
a about above after again all also am an and any are as at be because been before being below between both
but by can could did do does doing down during each few for from further had has have having he her here hers
him his how i if in into is it its itself just me more most my no nor not now of off on once only or other our
out over own same she should show so some such tell than that the their them then there these they this those
through to too under until up very was we were what when where which while who whom why will with would you
your yours appear appears clip clips video videos shot shots find list give please any anything something
shows showing shown mostly
der die das den dem des ein eine einer eines einem einen und oder aber ist sind war waren wird werden wo wie
was wer wann warum welche welcher welches im in ins am an auf aus bei mit nach von vor zu zum zur über unter
ich du er sie es wir ihr mein dein sein kein keine nicht auch noch nur zeig zeige gibt es gib alle
""".split()
)


def fold(word: str) -> str:
    """Lower case without diacritics: how both backends compare words."""
    if word.isascii():
        return word.lower()
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """Letter/digit runs of ``text`` (NFKC-normalised), in order."""
    return _WORD.findall(unicodedata.normalize("NFKC", text or ""))


# Superlatives of what shot documents say ("Dark and static.", "blurry"): the documents carry the
# plain word, which neither stemmer reaches from the superlative.
SUPERLATIVES = {
    "darkest": "dark",
    "dimmest": "dim",
    "brightest": "bright",
    "fastest": "fast",
    "slowest": "static",
    "stillest": "static",
    "calmest": "static",
    "blurriest": "blurry",
    "sharpest": "sharp",
    "dunkelste": "dark",
    "dunkelsten": "dark",
    "hellste": "bright",
    "hellsten": "bright",
    "schnellste": "fast",
    "schnellsten": "fast",
}
# German words for what the (English) shot documents name: faces, colours, light, motion, sharpness.
GERMAN = {
    "gesicht": "face",
    "gesichter": "faces",
    "person": "face",
    "personen": "faces",
    "menschen": "faces",
    "rot": "red",
    "rotes": "red",
    "roter": "red",
    "grunes": "green",
    "blaues": "blue",
    "blauer": "blue",
    "gelbes": "yellow",
    "gelber": "yellow",
    "weisses": "white",
    "schwarzes": "black",
    "rote": "red",
    "roten": "red",
    "grun": "green",
    "grune": "green",
    "grunen": "green",
    "blau": "blue",
    "blaue": "blue",
    "gelb": "yellow",
    "gelbe": "yellow",
    "weiss": "white",
    "weisse": "white",
    "schwarz": "black",
    "schwarze": "black",
    "grau": "gray",
    "graue": "gray",
    "orange": "orange",
    "lila": "purple",
    "violett": "violet",
    "rosa": "pink",
    "braun": "brown",
    "dunkel": "dark",
    "dunkle": "dark",
    "hell": "bright",
    "helle": "bright",
    "bewegung": "moving",
    "bewegt": "moving",
    "schnell": "fast",
    "unscharf": "blurry",
    "verwackelt": "shaky",
    "eingefroren": "frozen",
}
# Who a face belongs to: the documents say "1 face." / "3 faces.".
PEOPLE = {
    "people": "faces",
    "persons": "faces",
    "humans": "faces",
    "human": "face",
    "someone": "face",
    "anyone": "face",
    "somebody": "face",
    "jemand": "face",
    "leute": "faces",
    "mensch": "face",
    "gesichtern": "faces",
}
# Paraphrases of the light, motion and sharpness words the documents write (the same lexicon
# the answer layer, services/chat/understand.py, reads questions with).
MEASURED_WORDS = {
    "night": "dark",
    "nacht": "dark",
    "nachts": "dark",
    "finster": "dark",
    "dunklen": "dark",
    "dunkler": "dark",
    "hellen": "bright",
    "sunny": "bright",
    "movement": "moving",
    "motion": "moving",
    "still": "static",
    "ruhig": "static",
    "blurred": "blurry",
    "unsharp": "blurry",
    "verschwommen": "blurry",
}
SPELLINGS = {"grey": "gray", "greys": "gray", "greyish": "gray", "colour": "color", "colours": "colors"}
DOCUMENT_WORDS = {
    **SUPERLATIVES,
    **GERMAN,
    **PEOPLE,
    **MEASURED_WORDS,
    **SPELLINGS,
}  # a question's word -> the word shot documents use
_SHOT_NUMBER = re.compile(
    r"\b(?:shot|scene|szene|einstellung)\s*(?:no\.?|nr\.?|number|#)?\s*(\d{1,5})\b", re.IGNORECASE
)


def shot_number(question: str) -> int | None:
    """The 0-based shot index a question names as "shot N" ("What is in shot 2?", "Szene 3"): people
    count shots from 1, as every label shows them, so "shot 1" is index 0. None when none is named."""
    found = _SHOT_NUMBER.search(question or "")
    return int(found.group(1)) - 1 if found and int(found.group(1)) >= 1 else None


# "And the one before?", "what comes next?", "und danach?": the shot before or after the one the
# thread last talked about. Only when the question asks nothing else (every other word is one of
# these or a stop word): "what happens before the red car?" is a search like any other.
_STEPS = {
    **dict.fromkeys(
        (
            "before",
            "previous",
            "prior",
            "earlier",
            "preceding",
            "davor",
            "vorher",
            "vorige",
            "vorigen",
            "vorherige",
            "vorherigen",
        ),
        -1,
    ),
    **dict.fromkeys(
        (
            "after",
            "next",
            "following",
            "afterwards",
            "later",
            "danach",
            "nachher",
            "nachste",
            "nachsten",
            "folgende",
            "folgenden",
        ),
        1,
    ),
}
_STEP_FILLER = frozenset(
    "one shot shots scene scenes clip comes come came happens happened happen shows show seen see "
    "szene einstellung kommt passiert zeigt man".split()
)


def relative_step(question: str) -> int | None:
    """-1 or +1 when the question asks only for the shot before or after the last one talked about."""
    folded = [fold(word) for word in words(question)]
    steps = {_STEPS[w] for w in folded if w in _STEPS}
    if len(steps) != 1 or any(w not in _STEPS and w not in _STEP_FILLER and w not in STOP_WORDS for w in folded):
        return None
    return steps.pop()


def terms(question: str) -> list[str]:
    """The distinct, lower-cased content words of a question (at most MAX_TERMS)."""
    seen: list[str] = []
    for word in words(question):
        term = word.casefold()[:MAX_TERM_CHARS]
        folded = fold(term)
        term = DOCUMENT_WORDS.get(folded, term)
        if term in STOP_WORDS or folded in STOP_WORDS or term in seen:
            continue
        if len(term) < 2 and not term.isdigit():
            continue
        seen.append(term)
        if len(seen) == MAX_TERMS:
            break
    return seen


def _stem_prefix(term: str) -> str:
    """A prefix that survives English plural/tense endings: 'cars' and 'car' share 'car'."""
    folded = fold(term)
    return folded if len(folded) <= 3 else folded[: max(3, len(folded) - 2)]


def sentences(text: str) -> list[str]:
    """The sentences of ``text``, verbatim and stripped."""
    return [s.strip() for s in _SENTENCE.findall(text or "") if s.strip()]


def snippet(text: str, query_terms: list[str], limit: int = 220) -> str:
    """The sentence of ``text`` that best matches the terms, verbatim, cut at a word boundary."""
    parts = sentences(text)
    if not parts:
        return ""
    prefixes = [_stem_prefix(t) for t in query_terms]

    def score(sentence: str) -> int:
        folded = [fold(w) for w in words(sentence)]
        return sum(any(w.startswith(p) for w in folded) for p in prefixes)

    best = max(parts, key=score)  # max keeps the first of equals: earlier sentences win ties
    if len(best) <= limit:
        return best
    cut = best[:limit].rsplit(" ", 1)[0]
    return cut + " …"
