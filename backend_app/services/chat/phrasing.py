"""How the answer layer writes shots, times and measurements, and cites them.

Labels count from 1 ("Shot 1" is index 0); times read as a clock ("0:03.2"); citations have the
DESIGN.md shape ``{kind: "shot", analysis_id, shot, start_s, end_s, snippet}`` plus
``filename`` and ``session_id``. A whole video is cited as its first shot spanning the video
(``start_s`` 0, ``end_s`` its duration): that is how a follow-up tells "it" (the video) from
"it" (a shot).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backend_app.services.chat.facts import Facts, Shot, Video
from backend_app.wording import counted


def clock(seconds: float | None) -> str:
    """0:04, 1:02, 0:03.2 (tenths only when there are some; 59.96 s is 1:00; no time is 0:00)."""
    tenths = round(max(0.0, seconds or 0.0) * 10)
    minutes, rest = divmod(tenths, 600)
    whole, tenth = divmod(rest, 10)
    return f"{minutes}:{whole:02d}" + (f".{tenth}" if tenth else "")


def span(shot: Shot) -> str:
    return f"{clock(shot.start_s)}–{clock(shot.end_s)}"


def value(measure: str, shot: Shot) -> str:
    if measure == "brightness":
        return f"brightness {shot.brightness:.2f}"
    if measure == "motion":
        return f"motion {shot.motion:.4f}"
    if measure == "sharpness":
        return f"sharpness {shot.sharpness:.1f}"
    if measure == "faces":
        return f"{shot.faces} face{'s' if shot.faces != 1 else ''}"
    return f"{shot.duration:.1f} s"


def name(shot: Shot) -> str:
    return f"{shot.label} of {shot.filename}"


def cite(shot: Shot, snippet: str | None = None) -> dict:
    return {
        "kind": "shot",
        "analysis_id": shot.analysis_id,
        "shot": shot.index,
        "start_s": shot.start_s,
        "end_s": shot.end_s,
        "snippet": snippet if snippet is not None else shot.description,
        "filename": shot.filename,
        "session_id": shot.session_id,
    }


def cite_video(video: Video) -> dict:
    first = video.shots[0]
    return {
        **cite(first, f"{video.filename}: {video.duration_s:.1f} s, {counted(len(video.shots), 'shot')}."),
        "start_s": 0.0,
        "end_s": video.duration_s,
    }


def listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def described(shot: Shot) -> str:
    text = shot.description.rstrip(".") or f"{shot.duration:.1f} s"
    return text[0].lower() + text[1:] if text[:2] != text[:2].upper() else text


def quoted(texts: tuple[str, ...]) -> str:
    return " and ".join("'" + t.replace("\n", " ")[:120] + "'" for t in texts[:3])


MAX_LISTED = 5
CANT_TELL = "I can't tell that from the analysis: "
MEASURED = "the analysis measures light, motion, sharpness, faces, QR codes and colours of each shot"
CLOSEST = "These shots look closest to your question:"


@dataclass
class Reply:
    text: str
    citations: list[dict] = field(default_factory=list)
    kind: str = ""


@dataclass
class Subject:
    shot: Shot | None = None
    video: Video | None = None


def scope_words(facts: Facts) -> str:
    videos = facts.videos()
    where = "this session's" if facts.tenant.session_id else "your"
    return f"{where} {counted(len(videos), 'video')}" if len(videos) != 1 else f"{videos[0].filename}"
