"""Answers over measures across shots and videos: thresholds ("darker than 0.2"), averages, and
which video is longest / darkest / has the most shots (ties said as ties)."""

from __future__ import annotations

from backend_app.services.chat.facts import MEASURES, Facts, Video
from backend_app.services.chat.lexicon import COMPARATIVES
from backend_app.services.chat.phrasing import (
    CANT_TELL,
    MAX_LISTED,
    Reply,
    Subject,
    cite,
    cite_video,
    clock,
    listing,
    name,
    scope_words,
    span,
    value,
)
from backend_app.wording import counted

WORDS = {  # (measure, order) -> the superlative in words
    ("brightness", "min"): "darkest",
    ("brightness", "max"): "brightest",
    ("duration", "max"): "longest",
    ("duration", "min"): "shortest",
    ("sharpness", "min"): "blurriest",
    ("sharpness", "max"): "sharpest",
    ("motion", "max"): "most moving",
    ("motion", "min"): "stillest",
    ("faces", "max"): "with the most faces",
    ("faces", "min"): "with the fewest faces",
    ("shots", "max"): "with the most shots",
    ("shots", "min"): "with the fewest shots",
}


COMPARATIVE_WORDS = {
    w: found
    for w, found in COMPARATIVES.items()
    if w.isascii()
    and w.endswith("er")
    and w in ("darker", "brighter", "longer", "shorter", "sharper", "blurrier", "faster", "slower")
}


def noun(word: str, noun: str) -> str:
    """ "darkest shot", but "shot with the most faces"."""
    return f"{noun} {word}" if word.startswith("with ") else f"{word} {noun}"


def _video_measure(measure: str, video: Video) -> float:
    if measure == "duration":
        return video.duration_s
    if measure == "shots":
        return float(len(video.shots))
    if measure == "faces":
        return float(sum(s.faces for s in video.shots))
    if measure == "brightness":
        return video.brightness()
    values = [getattr(s, measure) for s in video.shots]
    return sum(values) / len(values) if values else 0.0


def _video_value(measure: str, video: Video) -> str:
    if measure == "duration":
        return f"{clock(video.duration_s)}, {video.duration_s:.1f} s"
    if measure == "shots":
        return counted(len(video.shots), "shot")
    if measure == "faces":
        return counted(int(_video_measure("faces", video)), "face")
    if measure == "brightness":
        return f"mean brightness {video.brightness():.2f}"
    return f"mean {measure} {_video_measure(measure, video):.4f}"


def ranked_videos(facts: Facts, measure: str, order: str) -> list[Video]:
    videos = [v for v in facts.videos() if v.shots]
    return sorted(videos, key=lambda v: _video_measure(measure, v), reverse=order == "max")


def _limit(measure: str, limit: float) -> str:
    return f"{limit:.1f} s" if measure == "duration" else f"{measure} {limit:g}"


def threshold(intent, facts: Facts, video: Video | None, subject: Subject | None) -> Reply:
    """ "Which shots are darker than 0.2?", "wie viele Szenen sind länger als 2 Sekunden?"."""
    read = MEASURES[intent.measure]
    passes = (lambda x: x < intent.limit) if intent.op == "<" else (lambda x: x > intent.limit)
    shots = facts.search_shots(lambda s: passes(read(s)), video=video)
    total = len(facts.shots(video))
    word = {v: k for k, v in COMPARATIVE_WORDS.items()}[(intent.measure, intent.op)]
    than = f"{word} than {_limit(intent.measure, intent.limit)}"
    if not shots:
        return Reply(f"None of the {counted(total, 'shot')} is {than}.")
    listed = [f"{name(s)} ({span(s)}, {value(intent.measure, s)})" for s in shots[:MAX_LISTED]]
    more = f" and {len(shots) - MAX_LISTED} more" if len(shots) > MAX_LISTED else ""
    verb = "is" if len(shots) == 1 else "are"
    return Reply(
        f"{len(shots)} of {counted(total, 'shot')} {verb} {than}: {listing(listed)}{more}.",
        [cite(s) for s in shots[:MAX_LISTED]],
    )


def average(intent, facts: Facts, video: Video | None, subject: Subject | None) -> Reply:
    shots = facts.shots(video)
    total = sum(s.duration for s in shots)
    if not shots or not total:
        return Reply(f"{CANT_TELL}there are no shots to average.", kind="unanswerable")
    read = MEASURES[intent.measure]
    mean = sum(read(s) * s.duration for s in shots) / total
    where = video.filename if video else scope_words(facts)
    shown = (
        f"{mean:.1f} s"
        if intent.measure == "duration"
        else f"{mean:.4f}"
        if intent.measure == "motion"
        else f"{mean:.2f}"
    )
    return Reply(
        f"The average {intent.measure} of {where} is {shown} (over {counted(len(shots), 'shot')}, by duration)."
    )


def compare(intent, facts: Facts, video: Video | None, subject: Subject | None) -> Reply:
    measure = intent.measure
    ranked = ranked_videos(facts, measure, intent.order)
    if not ranked:
        return Reply(f"{CANT_TELL}none of {scope_words(facts)} has analysed shots.", kind="unanswerable")
    word = WORDS[(measure, intent.order)]
    top = ranked[0]
    others = ", ".join(f"{v.filename} {_video_value(measure, v)}" for v in ranked[1:MAX_LISTED])
    text = f"The {noun(word, 'video')} is {top.filename} ({_video_value(measure, top)})."
    tied = [v for v in ranked if _video_measure(measure, v) == _video_measure(measure, top)]
    if len(tied) > 1:
        names = listing([v.filename for v in tied[:MAX_LISTED]])
        return Reply(
            f"{names} tie as the {noun(word, 'video')} ({_video_value(measure, top)} each).",
            [cite_video(v) for v in tied[:MAX_LISTED]],
        )
    if len(ranked) == 1:
        text = f"There is only one video, {top.filename} ({_video_value(measure, top)})."
    elif others:
        text += f" Then: {others}."
    return Reply(text, [cite_video(top)])
