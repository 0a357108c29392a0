"""The v1 rule catalogue and its detectors (English and German).

Each rule carries the INCOSE Guide for Writing Requirements rule id and name it implements
(ids and names only; messages and suggestions are our own). A detector takes the text and
its language and returns character spans ``(start, end)`` (end exclusive).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache, lru_cache

from backend_app.services.requirements import lexicon as lx

Span = tuple[int, int]

RULES: dict[str, dict] = {
    "R1": {
        "name": "Structured Statements",
        "criterion": "conformity",
        "severity": "high",
        "message": "No binding modal verb: it is unclear whether this is a requirement at all.",
        "suggestion": "Write it as '<subject> shall <verb> <object>' (German: '<Subjekt> muss <Objekt> <Verb>').",
    },
    "R2": {
        "name": "Active Voice",
        "criterion": "clarity",
        "severity": "medium",
        "message": "Passive voice without an agent: who performs the action is not stated.",
        "suggestion": "Name the actor and use the active voice, e.g. '<actor> shall <verb> <object>'.",
    },
    "R3": {
        "name": "Appropriate Subject-Verb",
        "criterion": "completeness",
        "severity": "high",
        "message": "The sentence has no subject before its modal verb.",
        "suggestion": "Start with the entity responsible, e.g. 'The <system> shall …'.",
    },
    "R6": {
        "name": "Common Units of Measure",
        "criterion": "measurability",
        "severity": "medium",
        "message": "A performance figure has no unit.",
        "suggestion": "Give the unit right after the number, e.g. '2 s', '500 ms', '100 requests per second'.",
    },
    "R7": {
        "name": "Vague Terms",
        "criterion": "clarity",
        "severity": "high",
        "message": "A vague term that cannot be verified.",
        "suggestion": "Replace it with a measurable criterion: a value, a unit and a bound.",
    },
    "R8": {
        "name": "Escape Clauses",
        "criterion": "testability",
        "severity": "high",
        "message": "An escape clause makes the requirement optional.",
        "suggestion": "Delete the clause; if there are real exceptions, state them as explicit conditions.",
    },
    "R9": {
        "name": "Open-Ended Clauses",
        "criterion": "completeness",
        "severity": "medium",
        "message": "An open-ended list: what is included cannot be verified.",
        "suggestion": "List every item explicitly, or reference a defined, closed list.",
    },
    "R10": {
        "name": "Superfluous Infinitives",
        "criterion": "clarity",
        "severity": "low",
        "message": "A superfluous infinitive ('be able to') weakens what is required.",
        "suggestion": "State the capability directly: 'shall <verb>' instead of 'shall be able to <verb>'.",
    },
    "R16": {
        "name": 'Use of "Not"',
        "criterion": "unambiguity",
        "severity": "low",
        "message": "A negative statement: what is not done cannot be tested exhaustively.",
        "suggestion": "Say what the system shall do instead, as a positive, testable statement.",
    },
    "R17": {
        "name": "Use of Oblique Symbol",
        "criterion": "singularity",
        "severity": "medium",
        "message": "An oblique symbol ('and/or', 'x/y') leaves the reader to choose.",
        "suggestion": "Decide: 'and' or 'or', or write two requirements.",
    },
    "R18": {
        "name": "Single Thought Sentence",
        "criterion": "singularity",
        "severity": "high",
        "message": "More than one requirement in one sentence (several modal verbs).",
        "suggestion": "Split it: one sentence, one subject, one modal verb, one requirement.",
    },
    "R19": {
        "name": "Combinators",
        "criterion": "singularity",
        "severity": "low",
        "message": "A combinator joins several things that may need separate requirements.",
        "suggestion": "Check whether each part needs its own requirement; split if they can be verified separately.",
    },
    "R24": {
        "name": "Pronouns",
        "criterion": "unambiguity",
        "severity": "medium",
        "message": "A pronoun whose referent the reader has to guess.",
        "suggestion": "Repeat the noun the pronoun stands for.",
    },
    "R26": {
        "name": "Absolutes",
        "criterion": "feasibility",
        "severity": "medium",
        "message": "An absolute ('always', '100 %') that cannot be achieved or proven.",
        "suggestion": "State a measurable target with a tolerance, e.g. '99.9 % of requests per month'.",
    },
    "R32": {
        "name": "Universal Qualification",
        "criterion": "feasibility",
        "severity": "medium",
        "message": "'all', 'any' or 'both' over a set the requirement does not define: what is covered cannot be "
        "verified.",
        "suggestion": "Name the set ('each browser listed in <reference>'), and use 'each' for its members.",
    },
    "R33": {
        "name": "Range of Values",
        "criterion": "measurability",
        "severity": "low",
        "message": "A performance value without a bound or tolerance.",
        "suggestion": "Say whether it is a maximum, a minimum or a range: 'within', 'at most', 'at least', '±'.",
    },
    "R34": {
        "name": "Measurable Performance",
        "criterion": "measurability",
        "severity": "high",
        "message": "A performance statement without a measurable value.",
        "suggestion": "Add a number, a unit and a bound, e.g. 'within 2 s for 95 % of requests'.",
    },
}

_B, _E = r"(?<![\w-])", r"(?![\w-])"


def _lists(lang: str) -> dict[str, list[str]]:
    return {
        "vague_time": lx.VAGUE[lang][lx.TIME],
        "vague_number": lx.VAGUE[lang][lx.NUMBER],
        "vague_quality": lx.VAGUE[lang][lx.QUALITY],
        "escape": lx.ESCAPE[lang],
        "open": lx.OPEN_ENDED[lang],
        "infinitive": lx.INFINITIVES[lang],
        "absolute": lx.ABSOLUTES[lang],
        "negative": lx.NEGATIVES[lang],
        "pronoun": lx.PRONOUNS[lang],
        "combinator": lx.COMBINATORS[lang],
        "oblique": lx.OBLIQUE[lang],
        "modal": lx.MODALS[lang],
        "weak_modal": lx.WEAK_MODALS[lang],
        "performance": lx.PERFORMANCE[lang],
        "bound": lx.BOUNDS[lang],
        "universal": lx.UNIVERSALS[lang],
    }


def _key(words: str) -> str:
    return " ".join(words.lower().split())


@cache
def _union(lang: str) -> tuple[re.Pattern, dict[str, frozenset[str]]]:
    """One pattern over every word list of a language, longest phrase first, and which lists own
    each phrase. The word-start check is factored out of the alternation, so alternatives are only
    tried where a word starts: one pass a sentence instead of one per list."""
    owners: dict[str, set[str]] = {}
    for category, phrases in _lists(lang).items():
        for phrase in phrases:
            owners.setdefault(_key(phrase), set()).add(category)
    words, other = [], []
    for phrase in sorted(owners, key=len, reverse=True):
        body = r"\s+".join(re.escape(w) for w in phrase.split()) + (_E if phrase[-1].isalnum() else "")
        (words if phrase[0].isalnum() else other).append(body)
    pattern = _B + "(?:" + "|".join(words) + ")" + ("|" + "|".join(other) if other else "")
    return re.compile(pattern, re.IGNORECASE), {k: frozenset(v) for k, v in owners.items()}


@lru_cache(maxsize=4096)
def scan(text: str, lang: str) -> dict[str, tuple[Span, ...]]:
    """Every listed phrase in the text, by list (a phrase inside a longer one is not matched)."""
    pattern, owners = _union(lang)
    found: dict[str, list[Span]] = {}
    for m in pattern.finditer(text):
        for category in owners[_key(m.group())]:
            found.setdefault(category, []).append(m.span())
    return {k: tuple(v) for k, v in found.items()}


def hits(category: str, text: str, lang: str) -> list[Span]:
    return list(scan(text, lang).get(category, ()))


def vague(text: str, lang: str) -> list[Span]:
    return sorted(hits("vague_time", text, lang) + hits("vague_number", text, lang) + hits("vague_quality", text, lang))


def vague_category(words: str, lang: str) -> str:
    low = " ".join(words.lower().split())
    for category, entries in lx.VAGUE[lang].items():
        if low in (e.lower() for e in entries):
            return category
    return lx.QUALITY


def modals(text: str, lang: str) -> list[Span]:
    return hits("modal", text, lang)


def weak_modals(text: str, lang: str) -> list[Span]:
    return hits("weak_modal", text, lang)


_EN_IRREGULAR = (
    "built done made given taken sent shown written kept held known found seen run read set put "
    "hidden chosen drawn driven broken frozen sold told paid laid bound brought bought caught "
    "taught thought left lost met spent understood forgotten withdrawn overwritten rewritten"
).split()
_EN_PASSIVE = re.compile(
    r"\b(?:is|are|be|been|being|was|were)\s+(?:\w+ly\s+)?(\w+ed|" + "|".join(_EN_IRREGULAR) + r")\b", re.IGNORECASE
)
_DE_PART = r"(?:ge\w+(?:t|en)|\w+iert|\w+ge\w+(?:t|en)|(?:ver|be|er|ent|zer|über)\w+(?:t|en))"
_DE_PASSIVE = re.compile(rf"\b({_DE_PART})\s+(?:werden|wird|worden)\b", re.IGNORECASE)
_DE_PART_T = r"(?:ge\w+t|\w+iert|\w+ge\w+t|(?:ver|be|er|ent|zer|über)\w+t)"
_DE_PASSIVE_END = re.compile(rf"\b(?:wird|werden)\b[^.,;]*?\s({_DE_PART_T})\s*[.!]?\s*$", re.IGNORECASE)
_AGENT = {
    "en": re.compile(r"\bby\s+(?:the\b|an?\b|each\b|every\b|its\b|[A-Z<])"),
    "de": re.compile(r"\b(?:von|vom|durch)\s+(?:de[mnrs]\b|die\b|das\b|eine[mnrs]?\b|ein\b|[A-ZÄÖÜ<])"),
}


def passive(text: str, lang: str) -> list[Span]:
    if lang == "en":
        hits = [m.span(1) for m in _EN_PASSIVE.finditer(text)]
    else:
        hits = [m.span(1) for m in _DE_PASSIVE.finditer(text)]
        hits += [m.span(1) for m in _DE_PASSIVE_END.finditer(text) if m.span(1) not in hits]
    # English names the agent after the verb ("by the server"); German anywhere ("vom Server").
    return [h for h in hits if not _AGENT[lang].search(text, h[1] if lang == "en" else 0)]


def multiple_modals(text: str, lang: str) -> list[Span]:
    found = sorted(modals(text, lang) + weak_modals(text, lang))
    return found[1:]


# "It shall be possible to …", "Es muss möglich sein, …": "it"/"es" stands for the clause that
# follows, not for something named earlier, so there is no referent to ask for.
_DUMMY_SUBJECT = {
    "en": re.compile(
        r"it\s+(?:shall|must|will|should|may|is|has to)\s+(?:not\s+)?(?:be\s+)?"
        r"(?:possible|required|necessary|ensured|guaranteed|mandatory|forbidden|prohibited)\b",
        re.IGNORECASE,
    ),
    "de": re.compile(
        r"es\s+(?:muss|soll|darf|wird|sollte|ist)\s+(?:nicht\s+)?"
        r"(?:möglich|erforderlich|notwendig|sichergestellt|gewährleistet|verboten)\b",
        re.IGNORECASE,
    ),
}


def missing_modal(text: str, lang: str) -> list[Span]:
    if modals(text, lang):
        return []
    weak = weak_modals(text, lang)
    if weak:
        return weak[:1]
    stripped = text.rstrip()
    start = len(text) - len(text.lstrip())
    return [(start, len(stripped))] if stripped else []


_FIRST_WORD = re.compile(r"\s*([\w-]+)")


def missing_subject(text: str, lang: str) -> list[Span]:
    first = _FIRST_WORD.match(text)
    if not first:
        return []
    all_modals = set(w.lower() for w in lx.MODALS[lang] + lx.WEAK_MODALS[lang])
    return [first.span(1)] if first.group(1).lower() in all_modals else []


# A number, not an ordinal ("the 95th percentile" counts nothing that needs a unit).
_NUMBER = re.compile(r"(?<![\w.,/])\d+(?:[.,]\d+)?(?![\d/])(?!(?:st|nd|rd|th)\b)")
_UNIT_AFTER = re.compile(r"\s*([^\s\d,;:!?()]+)")


def is_performance(text: str, lang: str) -> bool:
    return bool(hits("performance", text, lang) or hits("vague_time", text, lang))


def _has_value(text: str) -> bool:
    return bool(_NUMBER.search(text)) or "<value>" in text.lower() or "<wert>" in text.lower()


_RANGE_TAIL = re.compile(r"\s*(?:and|und|to|bis|-|–)\s*\d+(?:[.,]\d+)?", re.IGNORECASE)


def _unit_after(text: str, end: int) -> Span | None:
    tail = _RANGE_TAIL.match(text, end)  # "10 and 20 users": the unit after the range counts for both
    m = _UNIT_AFTER.match(text, tail.end() if tail else end)
    for _ in range(2):  # the unit, or one word describing it first ("100 concurrent users")
        if not m:
            return None
        raw = m.group(1).rstrip(".")
        token = raw.lower()
        if token in lx.UNITS or token.split("/")[0] in lx.UNITS or token.startswith("%"):
            return m.start(1), m.start(1) + len(raw)
        if raw != m.group(1):
            return None  # the sentence ended
        m = _UNIT_AFTER.match(text, m.end())
    return None


_BOUNDED_NUMBER = re.compile(
    r"\b(?:within|at most|at least|up to|no more than|no less than|more than|less than|greater than|lower than|"
    r"exceed(?:s|ing)?|maximum(?: of)?|minimum(?: of)?|below|above|innerhalb von|höchstens|mindestens|bis zu|"
    r"spätestens nach|maximal|minimal|mehr als|weniger als|unter|über|"
    # a quantity named by its measure: "a pressure of 10", "eine Temperatur von 80"
    r"(?:pressure|temperature|speed|weight|mass|length|height|width|depth|distance|voltage|current|power|"
    r"frequency|duration|capacity|volume|load|rate|Druck|Temperatur|Geschwindigkeit|Gewicht|Länge|Höhe|Breite|"
    r"Entfernung|Spannung|Strom|Leistung|Frequenz|Dauer|Kapazität|Volumen|Last) (?:of|von))\s+\d",
    re.IGNORECASE,
)


def missing_unit(text: str, lang: str) -> list[Span]:
    if not (is_performance(text, lang) or _BOUNDED_NUMBER.search(text)):
        return []
    return [m.span() for m in _NUMBER.finditer(text) if _unit_after(text, m.end()) is None]


def not_measurable(text: str, lang: str) -> list[Span]:
    if _has_value(text):
        return []
    cues = sorted(hits("performance", text, lang) + hits("vague_time", text, lang))
    return cues[:1]


_BOUND_SYMBOLS = re.compile("|".join(re.escape(sym) for sym in lx.BOUND_SYMBOLS))
_RANGES = {lang: re.compile(pattern, re.IGNORECASE) for lang, pattern in lx.RANGES.items()}


def bounds(text: str, lang: str) -> list[Span]:
    spans = hits("bound", text, lang)
    spans += [m.span() for m in _RANGES[lang].finditer(text)]
    spans += [m.span() for m in _BOUND_SYMBOLS.finditer(text)]
    return spans


def no_range(text: str, lang: str) -> list[Span]:
    if not is_performance(text, lang) or bounds(text, lang):
        return []
    out = []
    for m in _NUMBER.finditer(text):
        unit = _unit_after(text, m.end())
        if unit is not None:
            out.append((m.start(), unit[1]))
    return out


_OBLIQUE_WORDS = re.compile(r"(?<![\w/])([A-Za-zÄÖÜäöüß]{2,})/([A-Za-zÄÖÜäöüß]{2,})(?![\w/])")


def oblique(text: str, lang: str) -> list[Span]:
    spans = hits("oblique", text, lang)
    for m in _OBLIQUE_WORDS.finditer(text):
        if m.group(2).lower() not in lx.UNITS and not any(s[0] <= m.start() < s[1] for s in spans):
            spans.append(m.span())
    return sorted(spans)


def combinators(text: str, lang: str) -> list[Span]:
    return [
        (s, e) for s, e in hits("combinator", text, lang) if text[max(0, s - 1) : s] != "/" and text[e : e + 1] != "/"
    ]


DETECTORS: dict[str, Callable[[str, str], list[Span]]] = {
    "R1": missing_modal,
    "R2": passive,
    "R3": missing_subject,
    "R6": missing_unit,
    "R7": vague,
    "R8": lambda t, lang: hits("escape", t, lang),
    "R9": lambda t, lang: hits("open", t, lang),
    "R10": lambda t, lang: hits("infinitive", t, lang),
    "R16": lambda t, lang: hits("negative", t, lang),
    "R17": oblique,
    "R18": multiple_modals,
    "R19": combinators,
    "R24": lambda t, lang: [h for h in hits("pronoun", t, lang) if not _DUMMY_SUBJECT[lang].match(t, h[0])],
    "R26": lambda t, lang: hits("absolute", t, lang),
    "R32": lambda t, lang: hits("universal", t, lang),
    "R33": no_range,
    "R34": not_measurable,
}

# A finding is dropped when its span overlaps a span of one of these ("bound" = a bound phrase):
# "not" inside "including but not limited to" is part of an open-ended clause, not a negation.
SUPPRESSED_BY: dict[str, set[str]] = {
    "R7": {"R8", "R9", "R10", "bound"},
    "R16": {"R7", "R8", "R9", "R26", "bound"},
    "R19": {"R7", "R8", "R9", "R17", "R10", "R26", "bound"},
    "R24": {"R8", "R9"},
    "R2": {"R10"},
    "R26": {"R9"},
}


def warm_up() -> None:
    """Compile the patterns now: a worker compiles them once, before it forks per job."""
    for lang in ("en", "de"):
        _union(lang)


warm_up()
