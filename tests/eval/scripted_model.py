"""A test double of a tool-calling model, for running the chat eval through the openai path.

It is NOT a model and measures none: it is a small fixed policy behind the scripted protocol
server (tests/fake_openai.py), so that the eval can check the plumbing a real model would use —
the tools run in the asking scope, their results come back, the answer's citations map to the
shots the tools returned, nothing leaks — and what accuracy such a path keeps.

Round 1: the question's intent (``understand.parse``, the offline layer's own parser) picks the
tool calls (count → count, superlative → aggregate, presence → search_shots, a second or "at" →
shot_at, position → list_videos, then get_shot; anything else → search_shots by text); a question
the analysis cannot answer gets "I can't tell" without a call. Round 2 (position: round 3): the
answer is written from the tool results with a fixed template, citing each shot's ``ref``. It sees
only the request, like a model: the question, the follow-up note, and the tool results.
"""

from __future__ import annotations

import json
import re

from backend_app.services.chat import understand
from backend_app.services.chat.lexicon import PEOPLE_WORDS, SAME_PERSON, SCREEN_WORDS, SPEECH
from backend_app.services.chat.pages import CHAPTER, FRAME, PAGE
from backend_app.services.chat.phrasing import clock
from backend_app.services.chat.query import fold, words
from backend_app.services.chat.sources import topic

FILENAME = re.compile(r"[\w.-]+\.(?:mp4|avi|mov|mkv|webm)", re.IGNORECASE)
WORDS = {
    ("brightness", "min"): "darkest",
    ("brightness", "max"): "brightest",
    ("motion", "max"): "most moving",
    ("motion", "min"): "stillest",
    ("sharpness", "min"): "blurriest",
    ("sharpness", "max"): "sharpest",
    ("duration", "max"): "longest",
    ("duration", "min"): "shortest",
    ("faces", "max"): "most faces",
    ("faces", "min"): "fewest faces",
}
ABOUT = re.compile(r"\(The previous answer was about (?:Shot (\d+) of .*?|the video .*?) \(analysis_id (\w+)\)\.\)")
VIDEO_WORDS = {
    "duration": ("longest", "shortest"),
    "brightness": ("brightest", "darkest"),
    "faces": ("most faces", "fewest faces"),
}
NOUNS = {
    "shots": "shots",
    "videos": "videos",
    "faces": "faces",
    "qr": "QR codes",
    "shots_with_faces": "shots with faces",
}


def _question(request: dict) -> str:
    users = [m["content"] for m in request["messages"] if m["role"] == "user"]
    return users[-1].split("\n(This follows up")[0] if users else ""


def _results(request: dict) -> list[dict]:
    return [json.loads(m["content"]) for m in request["messages"] if m.get("role") == "tool"]


def _rounds(request: dict) -> int:
    return sum(1 for m in request["messages"] if m["role"] == "assistant")


def _call(name: str, **arguments) -> dict:
    return {"name": name, "arguments": {k: v for k, v in arguments.items() if v is not None}}


def _shot(s: dict) -> str:
    return f"Shot {s['shot']} of {s['video']} ({s['start']}–{s['end']}) [{s['ref']}]"


def _about(request: dict) -> tuple[str, int | None] | None:
    """What the last answer was about, when the question's follow-up note says: (analysis_id, shot or None)."""
    users = [m["content"] for m in request["messages"] if m["role"] == "user"]
    found = ABOUT.search(users[-1]) if users else None
    return (found.group(2), int(found.group(1)) if found.group(1) else None) if found else None


def respond(request: dict):
    """The next assistant message for this request: tool calls, or the answer text."""
    question = _question(request)
    intent = understand.parse(question)
    about = _about(request)
    if about and (intent.back or intent.step or intent.kind in (None, "time", "describe", "step")):
        return _follow_up(request, intent, about)
    named = FILENAME.search(question)
    video = named.group(0) if named else None
    results = _results(request)
    if (source := _sources(question, results)) is not None:
        return source
    if intent.kind == "unanswerable":
        return "I can't tell: the analysis does not measure that."
    if not results:
        return {"tool_calls": _first_calls(intent, question, video)}
    if intent.kind in ("time", "describe") and _rounds(request) == 1 and intent.n is None:
        listed = [v for v in results[-1].get("videos", []) if video is None or v["video"] == video]
        if not listed:
            return "I can't tell: no video matches."
        if intent.attribute == "end":
            return "; ".join(f"{v['video']} ends at {clock(v['duration_s'])}" for v in listed) + "."
        total = sum(v["duration_s"] for v in listed)
        if len(listed) > 1:
            each = ", ".join(f"{v['video']} {v['duration_s']:.1f} s" for v in listed)
            return f"Your {len(listed)} videos last {total:.1f} s: {each}."
        return f"{listed[0]['video']} is {listed[0]['duration_s']:.1f} s long."
    if intent.kind in ("position", "time", "describe") and _rounds(request) == 1:
        listed = results[-1].get("videos", [])
        n = intent.n if intent.n is not None else 0
        calls = [
            _call("get_shot", analysis_id=v["analysis_id"], shot=(n + 1 if n >= 0 else v["shots"] + n + 1))
            for v in listed
            if video is None or v["video"] == video
        ]
        return {"tool_calls": calls} if calls else "I can't tell: no video matches."
    return _answer(intent, results)


def _follow_up(request: dict, intent, about: tuple[str, int | None]):
    """A question about what the last answer was about: get that shot (or its neighbour), then say it."""
    analysis_id, shot = about
    results = _results(request)
    if not results:
        return {"tool_calls": [_call("get_shot", analysis_id=analysis_id, shot=(shot or 1) + (intent.step or 0))]}
    found = results[-1].get("shot")
    if found is None:
        return "There is none: that shot does not exist."
    s = found
    if intent.attribute == "end":
        return f"{_shot(s)} ends at {s['end']}."
    if intent.attribute == "start":
        return f"{_shot(s)} starts at {s['start']}."
    if intent.attribute == "duration":
        return f"{_shot(s)} lasts {s['duration_s']:.1f} s."
    return f"{_shot(s)}, brightness {s['brightness']:.2f}."


def _first_calls(intent, question: str, video: str | None) -> list[dict]:
    kind = intent.kind
    if kind == "count" and intent.what in NOUNS:
        calls = [_call("count", what=intent.what, video=video)]
        if intent.what == "shots" and video is None:
            calls.append(_call("count", what="videos"))
        if intent.what in ("faces", "qr"):
            calls.append(_call("search_shots", thing=intent.what, video=video))
        return calls
    if kind == "superlative" and intent.measure:
        return [_call("aggregate", measure=intent.measure, order=intent.order or "max", k=intent.k, video=video)]
    if kind == "presence":
        total = _call("count", what="shots", video=video)
        if intent.colour:
            return [_call("search_shots", colour=intent.colour, video=video), total]
        if intent.what in ("faces", "qr", "dark", "blurry", "bright", "static"):
            return [_call("search_shots", thing=intent.what, video=video), total]
    if kind == "filter" and intent.measure and intent.limit is not None:
        bound = {"above": intent.limit} if intent.op == ">" else {"below": intent.limit}
        return [_call("search_shots", measure=intent.measure, video=video, **bound), _call("count", what="shots")]
    if kind == "at" and intent.seconds is not None:
        return [_call("shot_at", seconds=intent.seconds, video=video)]
    if kind in ("position", "compare", "time", "describe"):
        return [_call("list_videos")]
    return [_call("search_shots", text=question[:200], video=video)]


def _answer(intent, results: list[dict]) -> str:
    shots = [s for r in results for s in r.get("shots", [])] + [r["shot"] for r in results if "shot" in r]
    counts = [r for r in results if "count" in r]
    if intent.kind in ("presence", "filter") and counts:
        total = counts[0]["count"]
        if not shots:
            return f"No: none of the {total} shots."
        return f"Yes: {len(shots)} of {total} shots: " + ", ".join(_shot(s) for s in shots) + "."
    if counts:
        first = counts[0]
        head = f"There are {first['count']} {NOUNS[first['what']]}"
        if first.get("video"):
            head = f"{first['video']} has {first['count']} {NOUNS[first['what']]}"
        if len(counts) > 1:
            head += f" in {counts[1]['count']} {NOUNS[counts[1]['what']]}"
        listed = f": {', '.join(_shot(s) for s in shots)}" if shots else ""
        return head + listed + "."
    if intent.kind == "compare" and results and "videos" in results[0]:
        measure = intent.measure if intent.measure in VIDEO_WORDS else "duration"
        field = {"duration": "duration_s"}.get(measure, measure)
        videos = sorted(results[0]["videos"], key=lambda v: v[field], reverse=intent.order != "min")
        if videos:
            word = VIDEO_WORDS[measure][intent.order == "min"]
            return f"The {word} video is {videos[0]['video']} ({field.replace('_s', '')} {videos[0][field]})."
    if intent.kind == "at" and intent.seconds is not None:
        if not shots:
            return f"Nothing runs at {clock(intent.seconds)}: it is past the end of the videos."
        return f"At {clock(intent.seconds)}, " + ", ".join(f"{s['video']} shows {_shot(s)}" for s in shots) + "."
    if not shots:
        return "No: no such shots were found." if intent.kind == "presence" else "I can't tell from the analysis."
    if intent.kind == "superlative" and intent.measure:
        word = WORDS.get((intent.measure, intent.order or "max"), "top")
        measure = intent.measure
        if len(shots) == 1:
            s = shots[0]
            return f"The {word} shot is {_shot(s)}, {measure} {s.get(measure, s.get('duration_s'))}."
        return f"The {len(shots)} {word} shots are " + ", ".join(_shot(s) for s in shots) + "."
    if intent.kind == "position":
        head = "The first shot of each video: " if len(shots) > 1 and intent.n == 0 else ""
        described = []
        for s in shots:
            colours = f", mostly {', '.join(s['colours'])}" if s.get("colours") else ""
            described.append(f"{_shot(s)}{colours}, brightness {s['brightness']:.2f}")
        return head + "; ".join(described) + "."
    return "These shots look closest to your question: " + ", ".join(_shot(s) for s in shots) + "."


PERSON = re.compile(r"\bperson\s+([a-z])\b", re.IGNORECASE)


def _sources(question: str, results: list[dict]):
    """Calls and answers for questions about what was said, shown, who appears and pages (None: not one)."""
    tokens = {fold(w) for w in words(question)}
    wanted = " ".join(topic(question, None, FRAME)) or None
    page = PAGE.search(question)
    if page or CHAPTER.search(question):
        if not results:
            return {"tool_calls": [_call("search_passages", kind="page", text=None if page else wanted)]}
        listed = results[0].get("passages", [])
        if not listed:
            return "I can't tell: there are no pages."
        if page and len(results) == 1:
            return {"tool_calls": [_call("read_page", document=listed[0]["document"], page=int(page.group(1)))]}
        if page:
            found = results[-1]
            if "error" in found:
                return f"There is no page {page.group(1)}."
            return f"Page {found['page']} of {found['document']}: {found['text'][:200]} [{found['ref']}]."
        return " ".join(f"Page {p['page']} of {p['document']}: {p['text']} [{p['ref']}]" for p in listed[:3])
    if tokens & (PEOPLE_WORDS | {"personen"}) and (
        PERSON.search(question) or tokens & SAME_PERSON or "many" in tokens or "viele" in tokens
    ):
        if not results:  # the faces too: a scope without face clusters answers with them
            faces = [_call("count", what="faces"), _call("search_shots", thing="faces")]
            return {"tool_calls": [_call("people"), *faces]}
        videos = results[0].get("videos", [])
        people = [(v["video"], p) for v in videos for p in v["people"]]
        if not people:
            return _answer(understand.parse(question), results[1:])
        if named := PERSON.search(question):
            label = f"Person {named.group(1).upper()}"
            people = [(v, p) for v, p in people if p["label"] == label]
            if not people:
                return f"No {label} was recognised."
        elif tokens & SAME_PERSON:
            people = [(v, p) for v, p in people if len(p["shots"]) > 1]
        return (
            "; ".join(f"{p['label']} appears in " + ", ".join(_shot(s) for s in p["shots"]) for _, p in people)
            + f" ({len(people)} {'person' if len(people) == 1 else 'people'})."
        )
    screen = bool(tokens & SCREEN_WORDS) or "screen" in question.casefold()
    if screen or tokens & SPEECH:
        kind = "text" if screen else "speech"
        if not results:
            return {"tool_calls": [_call("search_passages", kind=kind, text=wanted)]}
        found = results[-1].get("passages", [])
        if not found:
            return "Nothing matches in what was said or shown."
        verb = "is on screen" if kind == "text" else "is said"
        return "; ".join(f"“{p['text']}” {verb} at {p['start']} in {p['video']} [{p['ref']}]" for p in found) + "."
    return None
