"""What a chat question asks, in English or German: rules over the curated lexicon (lexicon.py).

``parse(question) -> Intent``: the kind (count, superlative, position, at a time, time or
duration, presence, comparison of videos, a step from the last answer, describe, unanswerable,
or None when the rules do not map it: then chat falls back to ranked retrieval), and its
parameters (measure, order, k, ordinal, seconds, colour, anchor words, whether it points back
at the previous answer). lexicon.py says why a lexicon and not a model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from backend_app.services.chat.lexicon import (
    AVERAGE,
    BLUR_WORDS,
    BRIGHT_WORDS,
    COLOURS,
    COMPARATIVES,
    COUNTABLE,
    FILLER,
    GERMAN_SUPERLATIVES,
    INVERTED,
    LIGHT_WORDS,
    MEASURE_WORDS,
    MOST,
    NUMBERS,
    ORDINALS,
    PRESENCE_THINGS,
    QUANTITIES,
    SHOT_WORDS,
    SPEECH,
    STEPS,
    STILL_WORDS,
    SUMMARY,
    SUPERLATIVES,
    UNKNOWABLE,
    VIDEO_WORDS,
    lexicon,
)
from backend_app.services.chat.query import fold, terms, words

COUNT_OPENERS = re.compile(r"\b(?:how many|number of|count|wie viele|wieviele|anzahl der|anzahl)\b", re.IGNORECASE)
PRESENCE_OPENERS = re.compile(
    r"^\s*(?:(?:and|und)\s+)?(?:are there|is there|any|does|do|did|is|are|has|have|can you see|"
    r"gibt es|hat|haben|ist|sind|enthalt|zeigt|irgendwelche|irgendein|kommt|kommen)\b|\b(?:any|irgendwelche|irgendein\w*)\b",
    re.IGNORECASE,
)
WHICH = re.compile(r"\b(?:which|what|where|when|welche|welcher|welches|wo|was|wann)\b", re.IGNORECASE)
THRESHOLD = re.compile(r"\b(\w+)\s+(?:than|als)\s+(\d{1,5}(?:[.,]\d+)?)", re.IGNORECASE)
BACK = frozenset("it its that this then das dort dann".split())  # not "there"/"es": "are there", "gibt es"
THERE = re.compile(r"\bthere\b(?<!is there)(?<!are there)", re.IGNORECASE)  # "what happens there?", not "is there"
OPENER = re.compile(r"^\s*(?:and|also|what about|how about|und|auch|und was ist mit)\b", re.IGNORECASE)
END_WORDS = frozenset("end ends ending ended finish finishes stop stops endet enden aufhort hort".split())
START_WORDS = frozenset("start starts begin begins began beginning beginnt beginnen fangt anfang".split())
HOW_LONG = re.compile(
    r"\b(?:how long|wie lang|wie lange|dauert|duration|length|lange|dauer|how many (?:seconds|minutes)|"
    r"wie viele (?:sekunden|minuten))\b",
    re.IGNORECASE,
)
SEQUEL = {"after": 1, "next": 1, "danach": 1, "before": -1, "previous": -1, "davor": -1}  # "the shot after the darkest"
CLOCK = re.compile(r"\b(\d{1,2}):(\d{2})(?:[.,](\d))?\b")
SECONDS = re.compile(r"\b(\d{1,4}(?:[.,]\d+)?)\s*(?:s|sec|secs|second|seconds|sekunde|sekunden)\b", re.IGNORECASE)
ORDINAL_NUMBER = re.compile(r"\b(\d{1,3})(?:st|nd|rd|th|\.)\s*(?=\w)", re.IGNORECASE)
SHOT_NUMBER = re.compile(
    r"\b(?:shot|scene|szene|einstellung|aufnahme)\s*(?:no\.?|nr\.?|number|nummer|#)?\s*(\d{1,4})\b", re.IGNORECASE
)
ANCHOR_WITH = re.compile(
    r"\b(after|before|nach|vor)\s+(?:the|der|dem|den|die|das)?\s*(?:scene|shot|szene|einstellung|aufnahme|one)\s+"
    r"(?:with|mit)\s+(?:the|a|an|dem|der|den|einem|einer)?\s*([\w\s-]{1,40}?)\s*[?.!]*$",
    re.IGNORECASE,
)
ANCHOR = re.compile(
    r"\b(after|before|nach|vor)\s+(?:the|der|dem|den|die|das)?\s*([\w\s-]{1,40}?)\s*"
    r"(?:scene|shot|szene|einstellung|aufnahme|one)\b",
    re.IGNORECASE,
)
DESCRIBE = SUMMARY | frozenset(
    "happens happen happening shows show seen see what inside passiert zeigt sieht was".split()
)


@dataclass
class Intent:
    kind: str | None = None  # count superlative position at time presence compare step describe unanswerable
    what: str | None = None  # count/presence: shots videos faces qr text colour dark; compare: a measure or "shots"
    measure: str | None = None
    order: str | None = None
    k: int = 1
    rank: int | None = None  # "the second darkest": 1
    n: int | None = None  # position (0-based, -1 last)
    seconds: float | None = None
    attribute: str | None = None  # start end duration (time questions), what (describe)
    colour: str | None = None
    anchor: list[str] = field(default_factory=list)  # "after the red scene": ["red"]
    step: int = 0
    back: bool = False  # leans on the previous answer ("it", "and …")
    video_subject: bool = False  # asks about a video, not a shot
    unknown: str | None = None  # what the analysis cannot know, in the user's words
    op: str | None = None  # a threshold question: "<" or ">" ``limit`` on ``measure``
    limit: float | None = None
    extra: list[str] = field(default_factory=list)  # a presence question's other words ("car" in "a red car?")


def _folded(question: str) -> list[str]:
    return [fold(w) for w in words(question)]


def _superlative(tokens: list[str]) -> tuple[str, str] | None:
    for token in tokens:
        if token in SUPERLATIVES:
            return SUPERLATIVES[token]
        for prefix, found in GERMAN_SUPERLATIVES.items():
            if token.startswith(prefix) and len(token) <= len(prefix) + 3:
                return found
    for a, b in zip(tokens, tokens[1:]):
        if a in MOST and b in QUANTITIES:
            return QUANTITIES[b], MOST[a]
        if a in MOST and b in INVERTED:  # "the least blurry" is the sharpest
            return INVERTED[b], "min" if MOST[a] == "max" else "max"
    return None


def _count_k(tokens: list[str], question: str) -> int:
    for n, token in enumerate(tokens):
        if token in NUMBERS and n + 1 < len(tokens):
            return NUMBERS[token]
        if token.isdigit() and 1 < int(token) <= 20 and n > 0 and tokens[n - 1] in ("top", "the", "die", "den"):
            return int(token)
    return 1


def _seconds(question: str) -> float | None:
    if found := CLOCK.search(question):
        minutes, secs, tenth = found.groups()
        return int(minutes) * 60 + int(secs) + (int(tenth) / 10 if tenth else 0.0)
    if found := SECONDS.search(question):
        return float(found.group(1).replace(",", "."))
    return None


def _ordinal(tokens: list[str], question: str) -> int | None:
    if found := SHOT_NUMBER.search(question):
        return max(0, int(found.group(1)) - 1)  # "shot 3" is the human label: index 2
    if found := ORDINAL_NUMBER.search(question):
        return max(0, int(found.group(1)) - 1)
    if "second" in tokens and ("to" in tokens and "last" in tokens):
        return -2
    for token in tokens:
        if token in ORDINALS:
            return ORDINALS[token]
    return None


FILENAME = re.compile(r"[^\s\"']+\.(?:mp4|m4v|mov|avi|mkv|webm|mpe?g|wmv|flv|3gp|ts|mts)\b", re.IGNORECASE)


def parse(question: str) -> Intent:
    """The intent of one question (``kind`` None: not mapped; retrieval answers it). A filename in
    it is not read for words ("what happens in qr.mp4?" is not about QR codes): compose finds the
    video it names."""
    question = FILENAME.sub(" ", question)
    tokens = _folded(question)
    token_set = set(tokens)
    intent = Intent()
    intent.back = bool(OPENER.match(question) or token_set & BACK or THERE.search(question))
    intent.video_subject = bool(token_set & VIDEO_WORDS) and not token_set & SHOT_WORDS
    if token_set & SPEECH and not token_set & {"qr", "code", "codes"}:
        intent.kind, intent.what = "unanswerable", "speech"
        return intent
    if (found := THRESHOLD.search(question)) and fold(found.group(1)) in COMPARATIVES:
        intent.kind = "filter"
        intent.measure, intent.op = COMPARATIVES[fold(found.group(1))]
        intent.limit = float(found.group(2).replace(",", "."))
        return intent
    sup = _superlative(tokens)
    if COUNT_OPENERS.search(question) and not HOW_LONG.search(question):
        if sup and token_set & VIDEO_WORDS:  # "how many shots does the longest video have?"
            intent.measure, intent.order = sup
        intent.video_subject = False
        return _count(intent, tokens)
    named = [MEASURE_WORDS[t] for t in tokens if t in MEASURE_WORDS]
    if token_set & AVERAGE and named:
        intent.kind, intent.measure = "average", named[0]
        return intent
    ordinal = _ordinal(tokens, question)
    if sup:
        intent.measure, intent.order = sup
        intent.k = _count_k(tokens, question)
        if ordinal is not None and ordinal > 0:
            intent.rank = ordinal
        intent.kind = "compare" if intent.video_subject or intent.measure == "shots" else "superlative"
        intent.step = next((SEQUEL[t] for t in tokens if t in SEQUEL), 0)
        intent.attribute = _time_attribute(token_set, question)
        return intent
    anchor = ANCHOR_WITH.search(question) or ANCHOR.search(question)
    if anchor and fold(anchor.group(1)) in STEPS:
        intent.kind, intent.step = "step", STEPS[fold(anchor.group(1))]
        intent.anchor = [fold(w) for w in words(anchor.group(2))]
        intent.attribute = _time_attribute(token_set, question) or "what"
        return intent
    steps = {STEPS[t] for t in tokens if t in STEPS}
    if len(steps) == 1 and (token_set & {"one", "shot", "scene", "szene", "einstellung"} or len(tokens) <= 4):
        intent.kind, intent.step, intent.back = "step", steps.pop(), True
        intent.attribute = _time_attribute(token_set, question) or "what"
        return intent
    seconds = _seconds(question)
    if seconds is not None and not HOW_LONG.search(question):
        intent.kind, intent.seconds, intent.attribute = "at", seconds, "what"
        return intent
    if ordinal is not None and (token_set & SHOT_WORDS or intent.back):
        intent.kind, intent.n = "position", ordinal
        intent.measure = named[0] if named else None  # "how bright is the first shot?"
        intent.attribute = _time_attribute(token_set, question) or "what"
        return intent
    if attribute := _time_attribute(token_set, question):
        intent.kind, intent.attribute = "time", attribute
        return intent
    return _presence(intent, tokens, question)


def _time_attribute(token_set: set[str], question: str) -> str | None:
    if HOW_LONG.search(question):
        return "duration"
    if token_set & END_WORDS or re.search(r"\bh[oö]rt\b.*\bauf\b", question, re.IGNORECASE):
        return "end"
    if token_set & START_WORDS or re.search(r"\bf[aä]ngt\b.*\ban\b", question, re.IGNORECASE):
        return "start"
    return None


def _count(intent: Intent, tokens: list[str]) -> Intent:
    intent.kind = "count"
    things = [COUNTABLE[t] for t in tokens if t in COUNTABLE]
    if things[:1] == ["shots"] and {"faces", "qr"} & set(things[1:]):  # "how many shots have faces?"
        intent.what = "shots_with_" + next(t for t in things[1:] if t in ("faces", "qr"))
        return intent
    for token in tokens:
        if token in COUNTABLE:
            intent.what = COUNTABLE[token]
            return intent
        if token in ("cuts", "schnitte"):
            intent.what = "cuts"
            return intent
    skip = {"how", "many", "number", "of", "count", "wie", "viele", "wieviele", "anzahl", "der", "die", "the"}
    unknown = [t for t in tokens if t not in skip and len(t) > 2]
    intent.kind, intent.what = "unanswerable", "count"
    intent.unknown = unknown[0] if unknown else None
    if intent.unknown is None:
        intent.kind, intent.what = "count", "shots"
    return intent


def _extra(question: str) -> list[str]:
    """The question's content words that no lexicon knows: "car" in "where is the red car?"."""
    known = set(COLOURS) | set(COLOURS.values()) | set(PRESENCE_THINGS) | set(LIGHT_WORDS) | set(BLUR_WORDS)
    known |= {"dark", "face"}
    known |= SHOT_WORDS | VIDEO_WORDS | FILLER | {"qr", "codes", "shots"}
    found = []
    for term in terms(question):
        word = fold(term)
        tables = (COLOURS, LIGHT_WORDS, BLUR_WORDS, BRIGHT_WORDS, STILL_WORDS)
        if word not in known and not any(lexicon(table, word) for table in tables):
            found.append(word)
    return found


def _presence(intent: Intent, tokens: list[str], question: str) -> Intent:
    token_set = set(tokens)
    intent.extra = _extra(question)
    things = [PRESENCE_THINGS[t] for t in tokens if t in PRESENCE_THINGS]
    colours = [c for c in (lexicon(COLOURS, t) for t in tokens) if c]
    asks = bool(PRESENCE_OPENERS.search(question) or WHICH.search(question))
    if not PRESENCE_OPENERS.search(question) and WHICH.search(question):
        intent.attribute = "which"  # "which shots are green?" is answered with the shots, not "Yes"
    if any(lexicon(BLUR_WORDS, t) for t in tokens) and asks:
        intent.kind, intent.what = "presence", "blurry"
        return intent
    if things and asks:
        intent.kind, intent.what = "presence", things[0]
        return intent
    if colours and asks:
        intent.kind, intent.what, intent.colour = "presence", "colour", colours[0]
        return intent
    if any(lexicon(LIGHT_WORDS, t) for t in tokens) and asks:
        intent.kind, intent.what = "presence", "dark"
        return intent
    for table, what in ((BRIGHT_WORDS, "bright"), (STILL_WORDS, "static")):
        if any(lexicon(table, t) for t in tokens) and asks:
            intent.kind, intent.what = "presence", what
            return intent
    if token_set & UNKNOWABLE:
        intent.kind, intent.what = "unanswerable", "unknowable"
        return intent
    if token_set & DESCRIBE and (intent.back and len(tokens) <= 6 or token_set & SUMMARY):
        intent.kind, intent.attribute = "describe", "what"  # compose needs a video named or pointed at
        return intent
    if token_set & DESCRIBE and len(tokens) <= 6:
        intent.kind, intent.attribute = "describe", "what"  # "what happens in qr.mp4?"
        return intent
    if intent.video_subject and (token_set & {"which", "what", "welche", "welches"}) and len(tokens) <= 5:
        intent.kind, intent.what = "count", "videos"  # "which videos are there?"
        return intent
    return intent
