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

from backend_app.services.chat import aggregates, no_speech, positions, understand
from backend_app.services.chat.facts import Facts, Video
from backend_app.services.chat.phrasing import (
    CANT_TELL,
    MAX_LISTED,
    MEASURED,
    Reply,
    Subject,
    cite,
    cite_video,
    clock,
    listing,
    name,
    quoted,
    scope_words,
    span,
    value,
)
from backend_app.services.chat.query import fold, words
from backend_app.wording import counted

# A shot people call dark: its mean brightness under this. The quality warning TOO_DARK asks
# something else (is the picture too dark to see: a QR code on black is dark, not too dark to
# read, and a dimly lit street may be).
DARK_BRIGHTNESS = 0.2


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
        "compare": aggregates.compare,
        "position": positions.position,
        "at": positions.at,
        "time": positions.time,
        "describe": positions.time,
        "presence": _presence,
        "step": positions.step,
        "filter": aggregates.threshold,
        "average": aggregates.average,
    }[intent.kind]
    reply = handler(intent, facts, video, last_subject(facts, last))
    if reply is not None:
        reply.kind = reply.kind or intent.kind
    return reply


def _unanswerable(intent: understand.Intent, facts: Facts) -> Reply:
    if intent.what == "speech":
        videos = facts.videos()
        reason = no_speech.why(videos) if videos else "there is no transcript of what is said; " + MEASURED + "."
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
    if video is None and intent.measure:  # "how many shots does the longest video have?"
        ranked = aggregates.ranked_videos(facts, intent.measure, intent.order)
        video = ranked[0] if ranked else None
    elif video is None and intent.back and subject:
        video = subject.video or facts.video(subject.shot.analysis_id)
    videos = [video] if video else facts.videos()
    what = intent.what
    if what == "videos":
        listed = [f"{v.filename} ({clock(v.duration_s)}, {counted(len(v.shots), 'shot')})" for v in videos[:MAX_LISTED]]
        listed += [f"{len(videos) - MAX_LISTED} more"] if len(videos) > MAX_LISTED else []
        head = "There is 1 video" if len(videos) == 1 else f"There are {len(videos)} videos"
        return Reply(f"{head}: {listing(listed)}.", [cite_video(v) for v in videos[:MAX_LISTED]])
    if what in ("shots", "cuts"):
        total = facts.count("shots", video)
        if what == "cuts":
            cuts = sum(max(0, len(v.shots) - 1) for v in videos)
            return Reply(f"{video.filename if video else scope_words(facts).capitalize()} cut {counted(cuts, 'time')}.")
        if video:
            return Reply(
                f"{video.filename} has {counted(total, 'shot')} ({video.duration_s:.1f} s).", [cite_video(video)]
            )
        per = ", ".join(f"{v.filename}: {len(v.shots)}" for v in videos[:MAX_LISTED])
        per += ", …" if len(videos) > MAX_LISTED else ""
        where = f"in {counted(len(videos), 'video')}" if len(videos) != 1 else f"in {videos[0].filename}"
        return Reply(f"There {'is' if total == 1 else 'are'} {counted(total, 'shot')} {where} ({per}).")
    if what.startswith("shots_with_"):
        has = (lambda s: s.faces > 0) if what == "shots_with_faces" else (lambda s: bool(s.qr_texts))
        shots, total = facts.search_shots(has, video=video), facts.count("shots", video)
        thing = "faces" if what == "shots_with_faces" else "a QR code"
        listed = [f"{name(s)} ({span(s)})" for s in shots[:MAX_LISTED]]
        head = f"{len(shots)} of {counted(total, 'shot')} {'has' if len(shots) == 1 else 'have'} {thing}"
        return Reply(head + (f": {listing(listed)}." if listed else "."), [cite(s) for s in shots[:MAX_LISTED]])
    if what == "faces":
        shots = facts.search_shots(lambda s: s.faces > 0, video=video)
        total = sum(s.faces for s in shots)
        if not total:
            return Reply(f"No faces were detected in {video.filename if video else scope_words(facts)}.")
        listed = [f"{name(s)} ({span(s)}, {value('faces', s)})" for s in shots[:MAX_LISTED]]
        return Reply(
            f"{counted(total, 'face')} {'was' if total == 1 else 'were'} detected, in {counted(len(shots), 'shot')}: "
            f"{listing(listed)}.",
            [cite(s) for s in shots[:MAX_LISTED]],
        )
    shots = facts.search_shots(lambda s: bool(s.qr_texts), video=video)
    total = sum(len(s.qr_texts) for s in shots)
    if not total:
        return Reply(f"No QR codes were detected in {video.filename if video else scope_words(facts)}.")
    listed = [f"{name(s)} ({span(s)}) reads {quoted(s.qr_texts)}" for s in shots[:MAX_LISTED]]
    return Reply(
        f"{counted(total, 'QR code')} {'was' if total == 1 else 'were'} detected: {listing(listed)}.",
        [cite(s) for s in shots[:MAX_LISTED]],
    )


def _superlative(intent, facts: Facts, video: Video | None, subject: Subject | None) -> Reply:
    if intent.back and subject and subject.video and video is None:  # "and the shortest?" after a video answer
        return aggregates.compare(intent, facts, video, subject)
    if video is None and intent.back and subject:
        video = subject.video or facts.video(subject.shot.analysis_id)
    measure = intent.measure if intent.measure != "shots" else "duration"
    k = max(1, min(intent.k, 10))
    rank = intent.rank
    best = facts.aggregate(measure, intent.order, k=(rank + 1) if rank else k, video=video)
    if not best:
        return Reply(f"{video.filename if video else 'Your videos'} {'has' if video else 'have'} no shots.")
    word = aggregates.WORDS[(measure, intent.order)]
    where = f" in {video.filename}" if video else ""
    if rank:
        chosen = [best[min(rank, len(best) - 1)]]
        ordinal = {1: "second", 2: "third"}.get(rank, f"{rank + 1}th")
        head = f"The {ordinal} {aggregates.noun(word, 'shot')}{where} is"
    elif k == 1 and len(best) == 1:
        chosen, head = best, f"The {aggregates.noun(word, 'shot')}{where} is"
        if intent.step and (found := facts.neighbour(best[0], intent.step)):  # "the shot after the darkest"
            relation = "after" if intent.step > 0 else "before"
            return Reply(
                f"{name(found)} ({span(found)}) comes {relation} the {aggregates.noun(word, 'shot')}{where} ({best[0].label}, "
                f"{value(measure, best[0])}): {positions.described(found)}.",
                [cite(found)],
                "superlative",
            )
    elif k == 1:
        chosen = best[:MAX_LISTED]
        head = f"{len(best)} shots{where} tie as the {aggregates.noun(word, 'shot')} ({value(measure, best[0])}):"
        listed = [f"{name(s)} ({span(s)})" for s in chosen]
        return Reply(f"{head} {listing(listed)}.", [cite(s) for s in chosen], "superlative")
    else:
        chosen = best[:k]
        head = f"The {len(chosen)} {aggregates.noun(word, 'shots')}{where} are"
    listed = [f"{name(s)} ({span(s)}, {value(measure, s)})" for s in chosen]
    text = f"{head} {listing(listed)}."
    if intent.attribute and len(chosen) == 1:
        text += " " + positions.attribute_sentence(chosen[0], intent.attribute)
    return Reply(text, [cite(s) for s in chosen], "superlative")


def _presence(intent, facts: Facts, video: Video | None, subject: Subject | None) -> Reply | None:
    named = {fold(w) for w in words(video.filename)} if video else set()
    if [w for w in intent.extra if w not in named]:
        return None  # "a red car?": more than the analysis measures; retrieval ranks the shots instead
    where = video.filename if video else scope_words(facts)
    if intent.what == "text":
        videos = [video] if video else facts.videos()
        texts = [(v, t) for v in videos for t in v.texts if t.get("text")]
        if not texts:
            return _unanswerable(understand.Intent(kind="unanswerable", what="text"), facts)
        listed = [f"{v.filename} at {clock(float(t.get('start_s') or 0))}: '{str(t['text'])[:80]}'" for v, t in texts]
        return Reply(f"Yes: on-screen text was read {counted(len(texts), 'time')}: {listing(listed[:MAX_LISTED])}.")
    if intent.what == "faces":
        shots, noun, detail = facts.search_shots(lambda s: s.faces > 0, video=video), "faces", "faces"
    elif intent.what == "qr":
        shots, noun, detail = facts.search_shots(lambda s: bool(s.qr_texts), video=video), "QR codes", "qr"
    elif intent.what == "dark":  # dark to look at: a low mean brightness
        shots = facts.search_shots(lambda s: s.brightness < DARK_BRIGHTNESS, video=video)
        noun, detail = "dark shots", "dark"
    elif intent.what == "blurry":  # the report's own judgement (low sharpness for the detail in the picture)
        shots, noun, detail = facts.search_shots(lambda s: s.blurry, video=video), "blurry shots", "blurry"
    elif intent.what == "bright":  # describe.signal_words: "bright" from 0.7
        shots, noun, detail = facts.search_shots(lambda s: s.brightness >= 0.7, video=video), "bright shots", "bright"
    elif intent.what == "static":  # describe.signal_words: "static" under 0.002
        shots, noun, detail = facts.search_shots(lambda s: s.motion < 0.002, video=video), "static shots", "static"
    else:
        shots = facts.search_shots(colour=intent.colour, video=video)
        noun, detail = f"shots that are mostly {intent.colour}", "colour"
    total = len(facts.shots(video))
    if not shots:
        return Reply(f"No: no {noun} were detected in {where} ({counted(total, 'shot')}).", kind="presence")
    listed = []
    for s in shots[:MAX_LISTED]:
        extra = {
            "faces": value("faces", s),
            "qr": "reads " + quoted(s.qr_texts),
            "dark": value("brightness", s),
            "blurry": value("sharpness", s),
            "bright": value("brightness", s),
            "static": value("motion", s),
            "colour": "mostly " + ", ".join(s.colours[:3]),
        }[detail]
        listed.append(f"{name(s)} ({span(s)}, {extra})")
    count = f"{len(shots)} of {counted(total, 'shot')}"
    verb = {"faces": "shows faces", "qr": "shows a QR code", "dark": "is dark", "blurry": "is blurry"}
    plural = {"faces": "show faces", "qr": "show QR codes", "dark": "are dark", "blurry": "are blurry"}
    verb |= {"bright": "is bright", "static": "is static"}
    plural |= {"bright": "are bright", "static": "are static"}
    verb["colour"], plural["colour"] = f"is mostly {intent.colour}", f"are mostly {intent.colour}"
    said = verb[detail] if len(shots) == 1 else plural[detail]
    yes = "" if intent.attribute == "which" else "Yes: "
    more = f" and {len(shots) - MAX_LISTED} more" if len(shots) > MAX_LISTED else ""
    return Reply(f"{yes}{count} {said}: {listing(listed)}{more}.", [cite(s) for s in shots[:MAX_LISTED]], "presence")
