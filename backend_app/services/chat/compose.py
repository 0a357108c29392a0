"""Direct answers from the facts: the answer and its numbers in the first sentence, then citations.

``respond(question, facts, last)`` returns a :class:`Reply` or None (the question is not one
the rules map, or the scope has no analysed video: chat falls back to ranked retrieval).
``last`` is the thread's last answer's first citation (what "it" and "the one before" mean).
Citations have the DESIGN.md shape ``{kind: "shot", analysis_id, shot, start_s, end_s,
snippet}`` plus ``filename`` and ``session_id``; an answer about a whole video cites its first
shot spanning the whole video (``start_s`` 0, ``end_s`` its duration), which is also how a
follow-up tells "it" (the video) from "it" (a shot). Every label counts from 1 ("Shot 1").
Text from the videos (filenames, QR payloads) is quoted as data, never read as instructions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backend_app.services.chat import understand
from backend_app.services.chat.facts import COLOUR_FAMILIES, Facts, Shot, Video
from backend_app.services.chat.query import fold, words

MAX_LISTED = 5
CANT_TELL = "I can't tell that from the analysis: "
MEASURED = "the analysis measures light, motion, sharpness, faces, QR codes and colours of each shot"
CLOSEST = "These shots look closest to your question:"
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


@dataclass
class Reply:
    text: str
    citations: list[dict] = field(default_factory=list)
    kind: str = ""


def clock(seconds: float) -> str:
    """0:04, 1:02, 0:03.2 (tenths only when there are some)."""
    minutes, rest = divmod(max(0.0, seconds), 60)
    whole = int(rest)
    tenths = round((rest - whole) * 10)
    if tenths == 10:
        whole, tenths = whole + 1, 0
    return f"{int(minutes)}:{whole:02d}" + (f".{tenths}" if tenths else "")


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
        **cite(first, f"{video.filename}: {video.duration_s:.1f} s, {_count(len(video.shots), 'shot')}."),
        "start_s": 0.0,
        "end_s": video.duration_s,
    }


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _describe(shot: Shot) -> str:
    text = shot.description.rstrip(".") or f"{shot.duration:.1f} s"
    return text[0].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _scope_words(facts: Facts) -> str:
    videos = facts.videos()
    where = "this session's" if facts.tenant.session_id else "your"
    return f"{where} {_count(len(videos), 'video')}" if len(videos) != 1 else f"{videos[0].filename}"


@dataclass
class Subject:
    shot: Shot | None = None
    video: Video | None = None


def last_subject(facts: Facts, last: dict | None) -> Subject | None:
    """What the last answer was about: its first citation, if it is still in the scope."""
    if not isinstance(last, dict) or not isinstance(last.get("shot"), int):
        return None
    video = facts.video(str(last.get("analysis_id")))
    if video is None:
        return None
    shot = facts.get_shot(video.analysis_id, last["shot"])
    if shot is None:
        return None
    whole = last.get("start_s") == 0 and last.get("end_s") == video.duration_s and shot.end_s != video.duration_s
    return Subject(video=video) if whole else Subject(shot=shot)


def respond(question: str, facts: Facts, last: dict | None = None) -> Reply | None:
    """The direct answer, or None to fall back to retrieval."""
    intent = understand.parse(question)
    if intent.kind is None or not facts.videos():
        return None
    video = facts.find_video(question)
    if intent.kind == "unanswerable":
        return _unanswerable(intent, facts)
    handler = {
        "count": _count_answer,
        "superlative": _superlative,
        "compare": _compare,
        "position": _position,
        "at": _at,
        "time": _time,
        "describe": _time,
        "presence": _presence,
        "step": _step,
    }[intent.kind]
    reply = handler(intent, facts, video, last_subject(facts, last))
    if reply is not None:
        reply.kind = reply.kind or intent.kind
    return reply


def _unanswerable(intent: understand.Intent, facts: Facts) -> Reply:
    if intent.what == "speech":
        reason = "there is no transcript of what is said; " + MEASURED + "."
    elif intent.what == "count" and intent.unknown:
        reason = f"it does not detect {intent.unknown}; it counts shots, videos, faces and QR codes."
    elif intent.what == "text":
        reason = "on-screen text is not read in these videos (only QR codes are)."
    else:
        reason = MEASURED + ", not who is in it, what things are called or why."
    return Reply(CANT_TELL + reason, kind="unanswerable")


def cant_tell_words(terms: list[str], scoped: bool) -> str:
    """The answer when retrieval finds nothing for words the analysis never writes."""
    shown = ", ".join(f'"{t}"' for t in terms[:4])
    where = "this session's" if scoped else "your"
    return f"{CANT_TELL}no shot in {where} videos is described with {shown}, and {MEASURED}."


def _count_answer(intent, facts: Facts, video: Video | None, subject: Subject | None) -> Reply:
    if video is None and intent.back and subject:
        video = subject.video or facts.video(subject.shot.analysis_id)
    videos = [video] if video else facts.videos()
    what = intent.what
    if what == "videos":
        listed = [f"{v.filename} ({clock(v.duration_s)}, {_count(len(v.shots), 'shot')})" for v in videos]
        head = "There is 1 video" if len(videos) == 1 else f"There are {len(videos)} videos"
        return Reply(f"{head}: {_and(listed)}.", [cite_video(v) for v in videos[:MAX_LISTED]])
    if what in ("shots", "cuts"):
        total = facts.count("shots", video)
        if what == "cuts":
            cuts = sum(max(0, len(v.shots) - 1) for v in videos)
            return Reply(f"{video.filename if video else _scope_words(facts).capitalize()} cut {_count(cuts, 'time')}.")
        if video:
            return Reply(
                f"{video.filename} has {_count(total, 'shot')} ({video.duration_s:.1f} s).", [cite_video(video)]
            )
        per = ", ".join(f"{v.filename}: {len(v.shots)}" for v in videos)
        where = f"in {_count(len(videos), 'video')}" if len(videos) != 1 else f"in {videos[0].filename}"
        return Reply(f"There {'is' if total == 1 else 'are'} {_count(total, 'shot')} {where} ({per}).")
    if what == "faces":
        shots = facts.search_shots(lambda s: s.faces > 0, video=video)
        total = sum(s.faces for s in shots)
        if not total:
            return Reply(f"No faces were detected in {video.filename if video else _scope_words(facts)}.")
        listed = [f"{name(s)} ({span(s)}, {value('faces', s)})" for s in shots[:MAX_LISTED]]
        return Reply(
            f"{_count(total, 'face')} {'was' if total == 1 else 'were'} detected, in {_count(len(shots), 'shot')}: "
            f"{_and(listed)}.",
            [cite(s) for s in shots[:MAX_LISTED]],
        )
    shots = facts.search_shots(lambda s: bool(s.qr_texts), video=video)
    total = sum(len(s.qr_texts) for s in shots)
    if not total:
        return Reply(f"No QR codes were detected in {video.filename if video else _scope_words(facts)}.")
    listed = [f"{name(s)} ({span(s)}) reads {_quoted(s.qr_texts)}" for s in shots[:MAX_LISTED]]
    return Reply(
        f"{_count(total, 'QR code')} {'was' if total == 1 else 'were'} detected: {_and(listed)}.",
        [cite(s) for s in shots[:MAX_LISTED]],
    )


def _quoted(texts: tuple[str, ...]) -> str:
    return " and ".join("'" + t.replace("\n", " ")[:120] + "'" for t in texts[:3])


def _superlative(intent, facts: Facts, video: Video | None, subject: Subject | None) -> Reply:
    if video is None and intent.back and subject:
        video = subject.video or facts.video(subject.shot.analysis_id)
    measure = intent.measure if intent.measure != "shots" else "duration"
    k = max(1, min(intent.k, 10))
    rank = intent.rank
    best = facts.aggregate(measure, intent.order, k=(rank + 1) if rank else k, video=video)
    if not best:
        return Reply(f"{video.filename if video else 'Your videos'} {'has' if video else 'have'} no shots.")
    word = WORDS[(measure, intent.order)]
    where = f" in {video.filename}" if video else ""
    if rank:
        chosen = [best[min(rank, len(best) - 1)]]
        ordinal = {1: "second", 2: "third"}.get(rank, f"{rank + 1}th")
        head = f"The {ordinal} {word} shot{where} is"
    elif k == 1 and len(best) == 1:
        chosen, head = best, f"The {word} shot{where} is"
    elif k == 1:
        chosen = best[:MAX_LISTED]
        head = f"{len(best)} shots{where} tie as the {word} ({value(measure, best[0])}):"
        listed = [f"{name(s)} ({span(s)})" for s in chosen]
        return Reply(f"{head} {_and(listed)}.", [cite(s) for s in chosen], "superlative")
    else:
        chosen = best[:k]
        head = f"The {len(chosen)} {word} shots{where} are"
    listed = [f"{name(s)} ({span(s)}, {value(measure, s)})" for s in chosen]
    text = f"{head} {_and(listed)}."
    if intent.attribute and len(chosen) == 1:
        text += " " + _attribute_sentence(chosen[0], intent.attribute)
    return Reply(text, [cite(s) for s in chosen], "superlative")


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
        return _count(len(video.shots), "shot")
    if measure == "faces":
        return _count(int(_video_measure("faces", video)), "face")
    if measure == "brightness":
        return f"mean brightness {video.brightness():.2f}"
    return f"mean {measure} {_video_measure(measure, video):.4f}"


def _compare(intent, facts: Facts, video: Video | None, subject: Subject | None) -> Reply:
    measure = intent.measure
    videos = [v for v in facts.videos() if v.shots]
    ranked = sorted(videos, key=lambda v: _video_measure(measure, v), reverse=intent.order == "max")
    if not ranked:
        return Reply(f"{CANT_TELL}none of {_scope_words(facts)} has analysed shots.", kind="unanswerable")
    word = WORDS[(measure, intent.order)]
    top = ranked[0]
    others = ", ".join(f"{v.filename} {_video_value(measure, v)}" for v in ranked[1:MAX_LISTED])
    text = f"The {word} video is {top.filename} ({_video_value(measure, top)})."
    if len(ranked) == 1:
        text = f"There is only one video, {top.filename} ({_video_value(measure, top)})."
    elif others:
        text += f" Then: {others}."
    return Reply(text, [cite_video(top)])


def _position(intent, facts: Facts, video: Video | None, subject: Subject | None) -> Reply:
    if video is None and subject:
        video = subject.video or facts.video(subject.shot.analysis_id) if intent.back else None
    shots = facts.nth(intent.n, video)
    ordinal_word = "last" if intent.n == -1 else f"#{intent.n + 1}"
    if not shots:
        most = max((len(v.shots) for v in ([video] if video else facts.videos())), default=0)
        where = video.filename if video else _scope_words(facts)
        return Reply(f"There is no shot {ordinal_word} in {where}: it has {_count(most, 'shot')} at most.")
    if len(shots) == 1:
        shot = shots[0]
        if intent.attribute != "what":
            return Reply(_attribute_sentence(shot, intent.attribute), [cite(shot)])
        return Reply(f"{name(shot)} ({span(shot)}) is a {_describe(shot)}.", [cite(shot)])
    listed = [f"{name(s)} ({span(s)}): {_describe(s)}" for s in shots[:MAX_LISTED]]
    which = "last" if intent.n == -1 else _nth_word(intent.n)
    return Reply(f"The {which} shot of each video: " + "; ".join(listed) + ".", [cite(s) for s in shots[:MAX_LISTED]])


def _nth_word(n: int) -> str:
    return {0: "first", 1: "second", 2: "third", -2: "second to last"}.get(n, f"{n + 1}th")


def _at(intent, facts: Facts, video: Video | None, subject: Subject | None) -> Reply:
    if video is None and intent.back and subject:
        video = subject.video or facts.video(subject.shot.analysis_id)
    shots = facts.at_time(intent.seconds, video)
    when = clock(intent.seconds)
    if not shots:
        videos = [video] if video else facts.videos()
        longest = max(videos, key=lambda v: v.duration_s)
        return Reply(
            f"Nothing runs at {when}: {longest.filename} is the longest and ends at {clock(longest.duration_s)}.",
            [cite_video(longest)],
            "at",
        )
    listed = [f"{s.filename} shows {s.label} ({span(s)}): {_describe(s)}" for s in shots[:MAX_LISTED]]
    return Reply(f"At {when}, " + "; ".join(listed) + ".", [cite(s) for s in shots[:MAX_LISTED]])


def _attribute_sentence(shot: Shot, attribute: str) -> str:
    if attribute == "end":
        return f"{name(shot)} ends at {clock(shot.end_s)} (it runs {span(shot)}, {shot.duration:.1f} s)."
    if attribute == "start":
        return f"{name(shot)} starts at {clock(shot.start_s)} (it runs {span(shot)}, {shot.duration:.1f} s)."
    if attribute == "duration":
        return f"{name(shot)} lasts {shot.duration:.1f} s ({span(shot)})."
    return f"{name(shot)} ({span(shot)}) is a {_describe(shot)}."


def _video_sentence(video: Video, attribute: str) -> str:
    shots = _count(len(video.shots), "shot")
    if attribute == "end":
        return f"{video.filename} ends at {clock(video.duration_s)}: it is {video.duration_s:.1f} s long, {shots}."
    if attribute == "start":
        return f"{video.filename} starts at 0:00 and runs {video.duration_s:.1f} s ({shots})."
    if attribute == "duration":
        return f"{video.filename} is {video.duration_s:.1f} s long ({clock(video.duration_s)}), {shots}."
    described = "; ".join(f"{s.label} ({span(s)}): {_describe(s)}" for s in video.shots[:MAX_LISTED])
    return f"{video.filename} ({clock(video.duration_s)}) has {shots}: {described}."


def _time(intent, facts: Facts, video: Video | None, subject: Subject | None) -> Reply | None:
    attribute = intent.attribute or "what"
    if video is not None:
        return Reply(_video_sentence(video, attribute), [cite_video(video)])
    if subject is not None and (intent.back or intent.kind == "describe"):
        if subject.video is not None or intent.video_subject:
            whole = subject.video or facts.video(subject.shot.analysis_id)
            return Reply(_video_sentence(whole, attribute), [cite_video(whole)])
        return Reply(_attribute_sentence(subject.shot, attribute), [cite(subject.shot)])
    videos = facts.videos()
    if len(videos) > 1 and intent.video_subject and attribute in ("duration", "end"):
        total = sum(v.duration_s for v in videos)
        listed = ", ".join(f"{v.filename} {v.duration_s:.1f} s" for v in videos[:MAX_LISTED])
        return Reply(
            f"Your {len(videos)} videos last {total:.1f} s in all: {listed}.",
            [cite_video(v) for v in videos[:MAX_LISTED]],
        )
    if len(videos) == 1 or intent.video_subject:
        listed = [_video_sentence(v, attribute) for v in videos[:MAX_LISTED]]
        return Reply(" ".join(listed), [cite_video(v) for v in videos[:MAX_LISTED]])
    if intent.kind == "describe":
        return None
    names = ", ".join(v.filename for v in videos[:MAX_LISTED])
    return Reply(
        f'{CANT_TELL}which video you mean; name one of {names} (for example "how long is {videos[0].filename}?").',
        kind="unanswerable",
    )


def _presence(intent, facts: Facts, video: Video | None, subject: Subject | None) -> Reply | None:
    named = {fold(w) for w in words(video.filename)} if video else set()
    if [w for w in intent.extra if w not in named]:
        return None  # "a red car?": more than the analysis measures; retrieval ranks the shots instead
    where = video.filename if video else _scope_words(facts)
    if intent.what == "text":
        videos = [video] if video else facts.videos()
        texts = [(v, t) for v in videos for t in v.texts if t.get("text")]
        if not texts:
            return _unanswerable(understand.Intent(kind="unanswerable", what="text"), facts)
        listed = [f"{v.filename} at {clock(float(t.get('start_s') or 0))}: '{str(t['text'])[:80]}'" for v, t in texts]
        return Reply(f"Yes: on-screen text was read {_count(len(texts), 'time')}: {_and(listed[:MAX_LISTED])}.")
    if intent.what == "faces":
        shots, noun, detail = facts.search_shots(lambda s: s.faces > 0, video=video), "faces", "faces"
    elif intent.what == "qr":
        shots, noun, detail = facts.search_shots(lambda s: bool(s.qr_texts), video=video), "QR codes", "qr"
    elif intent.what == "dark":
        shots, noun, detail = facts.search_shots(lambda s: s.brightness < 0.2, video=video), "dark shots", "dark"
    else:
        shots = facts.search_shots(colour=intent.colour, video=video)
        noun, detail = f"shots that are mostly {intent.colour}", "colour"
    total = len(facts.shots(video))
    if not shots:
        return Reply(f"No: no {noun} were detected in {where} ({_count(total, 'shot')}).", kind="presence")
    listed = []
    for s in shots[:MAX_LISTED]:
        extra = {
            "faces": value("faces", s),
            "qr": "reads " + _quoted(s.qr_texts),
            "dark": value("brightness", s),
            "colour": "mostly " + ", ".join(s.colours[:3]),
        }[detail]
        listed.append(f"{name(s)} ({span(s)}, {extra})")
    count = f"{len(shots)} of {_count(total, 'shot')}"
    verb = {"faces": "shows faces", "qr": "shows a QR code", "dark": "is dark", "colour": f"is mostly {intent.colour}"}
    plural = {"faces": "show faces", "qr": "show QR codes", "dark": "are dark", "colour": f"are mostly {intent.colour}"}
    said = verb[detail] if len(shots) == 1 else plural[detail]
    return Reply(f"Yes: {count} {said}: {_and(listed)}.", [cite(s) for s in shots[:MAX_LISTED]], "presence")


def _anchor_shot(facts: Facts, anchor: list[str], video: Video | None) -> Shot | None:
    """The first shot whose measured words match the anchor ("the QR code scene", "the red one")."""
    wanted = [a for a in anchor if a not in ("the", "der", "die", "das", "dem")]
    for shot in facts.shots(video):
        said = {fold(w) for w in words(shot.description)} | {fold(w) for c in shot.colours for w in words(c)}
        if shot.faces:
            said |= {"face", "faces", "person", "people", "gesicht"}
        if shot.qr_texts:
            said |= {"qr", "code"}
        colours = {understand.COLOURS.get(a) for a in wanted} - {None}
        families = {f for f, names in COLOUR_FAMILIES.items() if names & set(shot.colours)}
        if (
            wanted
            and all(a in said or understand.COLOURS.get(a) in families for a in wanted)
            or (colours and colours <= families)
        ):
            return shot
    return None


def _step(intent, facts: Facts, video: Video | None, subject: Subject | None) -> Reply | None:
    if intent.anchor:
        base = _anchor_shot(facts, intent.anchor, video)
        if base is None:
            shown = " ".join(intent.anchor)
            return Reply(f'{CANT_TELL}no shot is described as "{shown}"; {MEASURED}.', kind="unanswerable")
    elif subject is not None:
        base = subject.shot or subject.video.shots[0]
    else:
        return None
    found = facts.neighbour(base, intent.step)
    if found is None:
        edge = "first" if intent.step < 0 else "last"
        return Reply(
            f"{base.label} is the {edge} shot of {base.filename}: there is none {'before' if intent.step < 0 else 'after'} it.",
            [cite(base)],
            "step",
        )
    relation = "before" if intent.step < 0 else "after"
    if intent.attribute and intent.attribute != "what":
        return Reply(_attribute_sentence(found, intent.attribute), [cite(found)])
    return Reply(f"{name(found)} ({span(found)}) comes {relation} {base.label}: {_describe(found)}.", [cite(found)])
