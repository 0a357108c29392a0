"""The functions a model may call to read the facts of the asking scope (``facts.Facts``).

``DEFINITIONS`` are the Chat Completions tool definitions (JSON Schema); ``Toolbox.run`` executes
one call for the model, always through the turn's own ``Facts(tenant)`` (and, for text search,
the tenant-scoped retrieval), never with anything the model sent as a scope: an ``analysis_id``
or video name that is not in the scope answers ``{"error": "not found"}``, exactly as one that
does not exist (no hint that it exists elsewhere). Arguments are checked against the schema's
types and ranges; a bad call answers an error the model can read and correct.

Every shot or passage (speech, on-screen text, document page) a tool returns gets a reference
number (``ref``, from 1, stable for the turn): the model cites ``[ref]``, and only what is in
``Toolbox.shots`` can be cited (a passage as its citation, read from the tenant's own index). Results are small JSON
(at most ``MAX_SHOTS`` shots, texts cut to ``MAX_TEXT`` characters, the whole under
``MAX_RESULT_CHARS``). Text from the videos (filenames, descriptions, QR payloads) is data: the
system prompt says so, and it is never read as an instruction here.
"""

from __future__ import annotations

import json
from typing import Any

from backend_app.services.chat import passage_tools, search
from backend_app.services.chat.facts import COLOUR_FAMILIES, MEASURES, Facts, Shot, Video
from backend_app.services.chat.passage_tools import (  # noqa: F401  (the toolbox's shared names)
    MAX_RESULT_CHARS,
    MAX_SHOTS,
    MAX_TEXT,
    MAX_VIDEOS,
    NOT_FOUND,
    VIDEO_ARG,
    BadCall,
    Cited,
    cite_item,
    tool_function,
)
from backend_app.services.chat.phrasing import clock

COUNTABLE = ("shots", "videos", "faces", "shots_with_faces", "qr")
# A thing a shot can have, as the report judges it (the same rules as compose's presence answers).
THINGS = {
    "faces": lambda s: s.faces > 0,
    "qr": lambda s: bool(s.qr_texts),
    "dark": lambda s: "TOO_DARK" in s.warnings,
    "blurry": lambda s: s.blurry,
    "bright": lambda s: s.brightness >= 0.7,
    "static": lambda s: s.motion < 0.002,
}


DEFINITIONS: list[dict[str, Any]] = [
    tool_function(
        "list_videos",
        "List the analysed videos in scope: filename, analysis_id, duration, shots, mean brightness, faces.",
        {},
    ),
    tool_function(
        "search_shots",
        "Find shots that have a thing (faces, qr, dark, blurry, bright, static), a colour, text words, "
        "or a measure above/below a value (e.g. brightness below 0.2, duration above 2).",
        {
            "thing": {"type": "string", "enum": sorted(THINGS)},
            "colour": {"type": "string", "enum": sorted(COLOUR_FAMILIES)},
            "text": {"type": "string", "description": "Words to look for in the shot descriptions."},
            "measure": {"type": "string", "enum": sorted(MEASURES)},
            "above": {"type": "number"},
            "below": {"type": "number"},
            "video": VIDEO_ARG,
        },
    ),
    tool_function(
        "get_shot",
        "One shot of a video by its number (Shot 1 is the first).",
        {"analysis_id": {"type": "string"}, "shot": {"type": "integer", "minimum": 1}},
        ("analysis_id", "shot"),
    ),
    tool_function(
        "aggregate",
        "The k shots with the highest (max) or lowest (min) value of a measure.",
        {
            "measure": {"type": "string", "enum": sorted(MEASURES)},
            "order": {"type": "string", "enum": ["max", "min"]},
            "k": {"type": "integer", "minimum": 1, "maximum": MAX_SHOTS},
            "video": VIDEO_ARG,
        },
        ("measure", "order"),
    ),
    tool_function(
        "count",
        "Count shots, videos, faces, shots_with_faces or qr codes.",
        {"what": {"type": "string", "enum": list(COUNTABLE)}, "video": VIDEO_ARG},
        ("what",),
    ),
    tool_function(
        "shot_at",
        "The shot running at a time (seconds from the start), per video.",
        {"seconds": {"type": "number", "minimum": 0}, "video": VIDEO_ARG},
        ("seconds",),
    ),
]
DEFINITIONS += passage_tools.DEFINITIONS
NAMES = frozenset(d["function"]["name"] for d in DEFINITIONS)


class Toolbox(passage_tools.PassageTools):
    """Runs the model's calls inside one turn's scope and remembers every shot it returned."""

    def __init__(self, facts: Facts):
        self.facts = facts
        self.shots: list[Shot] = []  # ref n is shots[n - 1]

    def run(self, name: str, arguments: str) -> str:
        """The call's result as JSON text (an error object for a bad or unknown call)."""
        try:
            if name not in NAMES:
                raise BadCall(f"unknown tool {name!r}; use one of {sorted(NAMES)}")
            try:
                args = json.loads(arguments or "{}")
            except ValueError:
                raise BadCall("arguments are not valid JSON") from None
            if not isinstance(args, dict):
                raise BadCall("arguments must be a JSON object")
            result = getattr(self, f"_{name}")(args)
        except BadCall as exc:
            result = {"error": str(exc)}
        return _bounded(result)

    def ref(self, shot: Cited) -> int:
        for n, known in enumerate(self.shots, 1):
            if _key(known) == _key(shot):
                return n
        self.shots.append(shot)
        return len(self.shots)

    def _shot(self, shot: Shot) -> dict:
        entry = {
            "ref": self.ref(shot),
            "video": shot.filename,
            "analysis_id": shot.analysis_id,
            "shot": shot.index + 1,
            "start": clock(shot.start_s),
            "end": clock(shot.end_s),
            "duration_s": round(shot.duration, 2),
            "brightness": round(shot.brightness, 2),
            "motion": round(shot.motion, 4),
            "sharpness": round(shot.sharpness, 1),
            "faces": shot.faces,
        }
        if shot.colours:
            entry["colours"] = list(shot.colours[:3])
        if shot.qr_texts:
            entry["qr"] = [t[:MAX_TEXT] for t in shot.qr_texts[:3]]
        if shot.warnings:
            entry["warnings"] = list(shot.warnings[:4])
        if shot.description:
            entry["description"] = shot.description[:MAX_TEXT]
        return entry

    def _shots(self, shots: list[Shot]) -> dict:
        listed = [self._shot(s) for s in shots[:MAX_SHOTS]]
        return {"shots": listed, "total": len(shots)} | (
            {"more": len(shots) - MAX_SHOTS} if len(shots) > MAX_SHOTS else {}
        )

    def _video(self, args: dict) -> Video | None:
        """The video the call names, inside the scope; a name not in it is an error, never "all"."""
        named = args.get("video")
        if named in (None, ""):
            return None
        if not isinstance(named, str):
            raise BadCall("video must be a string")
        video = self.facts.video(named) or next((v for v in self.facts.videos() if v.filename == named), None)
        if video is None:
            video = self.facts.find_video(named)
        if video is None:
            raise BadCall("not found")
        return video

    def _list_videos(self, args: dict) -> dict:
        videos = self.facts.videos()
        listed = [
            {
                "analysis_id": v.analysis_id,
                "video": v.filename,
                "duration_s": round(v.duration_s, 2),
                "shots": len(v.shots),
                "brightness": round(v.brightness(), 2),  # the duration-weighted mean
                "faces": sum(s.faces for s in v.shots),
            }
            for v in videos[:MAX_VIDEOS]
        ]
        return {"videos": listed, "total": len(videos)}

    def _search_shots(self, args: dict) -> dict:
        video = self._video(args)
        thing, colour, text = args.get("thing"), args.get("colour"), args.get("text")
        if thing is not None and thing not in THINGS:
            raise BadCall(f"thing must be one of {sorted(THINGS)}")
        if colour is not None and colour not in COLOUR_FAMILIES:
            raise BadCall(f"colour must be one of {sorted(COLOUR_FAMILIES)}")
        if text is not None and (not isinstance(text, str) or not text.strip()):
            raise BadCall("text must be words to look for")
        measure, above, below = args.get("measure"), args.get("above"), args.get("below")
        if measure is not None and measure not in MEASURES:
            raise BadCall(f"measure must be one of {sorted(MEASURES)}")
        for bound in (above, below):
            if bound is not None and (not isinstance(bound, int | float) or isinstance(bound, bool)):
                raise BadCall("above and below must be numbers")
        if (measure is None) != (above is None and below is None):
            raise BadCall("give measure with above or below")
        if thing is None and colour is None and text is None and measure is None:
            raise BadCall("give thing, colour, text or measure")
        shots = self.facts.search_shots(THINGS[thing] if thing else None, colour=colour, video=video)
        if measure is not None:
            read = MEASURES[measure]
            shots = [s for s in shots if (above is None or read(s) > above) and (below is None or read(s) < below)]
        if text is not None:
            found = []
            for hit in search.search(self.facts.tenant, text[:200], limit=MAX_SHOTS):
                shot = self.facts.get_shot(hit.analysis_id, hit.shot)  # the same scope: None if not in it
                if shot is not None and shot in shots and (video is None or shot.analysis_id == video.analysis_id):
                    found.append(shot)
            shots = found
        return self._shots(shots)

    def _get_shot(self, args: dict) -> dict:
        analysis_id, number = args.get("analysis_id"), args.get("shot")
        if not isinstance(analysis_id, str) or not isinstance(number, int) or isinstance(number, bool):
            raise BadCall("analysis_id (string) and shot (integer from 1) are required")
        shot = self.facts.get_shot(analysis_id, number - 1)
        return NOT_FOUND if shot is None else {"shot": self._shot(shot)}

    def _aggregate(self, args: dict) -> dict:
        measure, order, k = args.get("measure"), args.get("order"), args.get("k", 1)
        if measure not in MEASURES or order not in ("max", "min"):
            raise BadCall(f"measure must be one of {sorted(MEASURES)} and order max or min")
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_SHOTS:
            raise BadCall(f"k must be an integer from 1 to {MAX_SHOTS}")
        return {"measure": measure, "order": order} | self._shots(
            self.facts.aggregate(measure, order, k, self._video(args))
        )

    def _count(self, args: dict) -> dict:
        what = args.get("what")
        if what not in COUNTABLE:
            raise BadCall(f"what must be one of {list(COUNTABLE)}")
        video = self._video(args)
        return {"what": what, "count": self.facts.count(what, video)} | ({"video": video.filename} if video else {})

    def _shot_at(self, args: dict) -> dict:
        seconds = args.get("seconds")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            raise BadCall("seconds must be a number from 0")
        return self._shots(self.facts.at_time(float(seconds), self._video(args)))


def _key(item: Cited) -> tuple:
    if isinstance(item, dict):
        return (
            item.get("kind"),
            item.get("analysis_id"),
            item.get("document_id"),
            item.get("start_s"),
            item.get("page"),
        )
    return ("shot", item.analysis_id, item.index)


def _bounded(result: dict) -> str:
    """The result as compact JSON under MAX_RESULT_CHARS (shots dropped from the end if needed)."""
    text = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
    for key in ("shots", "passages", "text"):
        while len(text) > MAX_RESULT_CHARS and result.get(key):
            cut = result[key][:-1] if isinstance(result[key], list) else result[key][: len(result[key]) // 2]
            result = {**result, key: cut, "cut": True}
            text = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
    return text[:MAX_RESULT_CHARS]
