"""Answers about where and when: the n-th shot, what runs at a second, when a shot or video
starts or ends and how long it is, and the shot before or after another (compose.respond
routes here)."""

from __future__ import annotations

from backend_app.services.chat.facts import COLOUR_FAMILIES, Facts, Shot, Video
from backend_app.services.chat.lexicon import COLOURS
from backend_app.services.chat.phrasing import (
    CANT_TELL,
    MAX_LISTED,
    MEASURED,
    Reply,
    Subject,
    cite,
    cite_video,
    clock,
    described,
    name,
    scope_words,
    span,
    value,
)
from backend_app.services.chat.query import fold, words
from backend_app.wording import counted


def position(intent, facts: Facts, video: Video | None, subject: Subject | None) -> Reply:
    if video is None and subject:
        video = subject.video or facts.video(subject.shot.analysis_id) if intent.back else None
    shots = facts.nth(intent.n, video)
    ordinal_word = "last" if intent.n == -1 else f"#{intent.n + 1}"
    if not shots:
        most = max((len(v.shots) for v in ([video] if video else facts.videos())), default=0)
        where = video.filename if video else scope_words(facts)
        return Reply(f"There is no shot {ordinal_word} in {where}: it has {counted(most, 'shot')} at most.")
    if len(shots) == 1:
        shot = shots[0]
        if intent.attribute != "what":
            return Reply(attribute_sentence(shot, intent.attribute), [cite(shot)])
        if intent.measure:  # "how bright is the first shot?"
            return Reply(
                f"{name(shot)} ({span(shot)}) has {value(intent.measure, shot)}: {described(shot)}.", [cite(shot)]
            )
        return Reply(f"{name(shot)} ({span(shot)}) is a {described(shot)}.", [cite(shot)])
    listed = [f"{name(s)} ({span(s)}): {described(s)}" for s in shots[:MAX_LISTED]]
    which = "last" if intent.n == -1 else _nth_word(intent.n)
    each = "each video" if len(shots) <= MAX_LISTED else f"the {MAX_LISTED} newest of {len(shots)} videos"
    return Reply(f"The {which} shot of {each}: " + "; ".join(listed) + ".", [cite(s) for s in shots[:MAX_LISTED]])


def _nth_word(n: int) -> str:
    return {0: "first", 1: "second", 2: "third", -2: "second to last"}.get(n, f"{n + 1}th")


def at(intent, facts: Facts, video: Video | None, subject: Subject | None) -> Reply:
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
    listed = [f"{s.filename} shows {s.label} ({span(s)}): {described(s)}" for s in shots[:MAX_LISTED]]
    return Reply(f"At {when}, " + "; ".join(listed) + ".", [cite(s) for s in shots[:MAX_LISTED]])


def attribute_sentence(shot: Shot, attribute: str) -> str:
    if attribute == "end":
        return f"{name(shot)} ends at {clock(shot.end_s)} (it runs {span(shot)}, {shot.duration:.1f} s)."
    if attribute == "start":
        return f"{name(shot)} starts at {clock(shot.start_s)} (it runs {span(shot)}, {shot.duration:.1f} s)."
    if attribute == "duration":
        return f"{name(shot)} lasts {shot.duration:.1f} s ({span(shot)})."
    return f"{name(shot)} ({span(shot)}) is a {described(shot)}."


def _video_sentence(video: Video, attribute: str) -> str:
    shots = counted(len(video.shots), "shot")
    if attribute == "end":
        return f"{video.filename} ends at {clock(video.duration_s)}: it is {video.duration_s:.1f} s long, {shots}."
    if attribute == "start":
        return f"{video.filename} starts at 0:00 and runs {video.duration_s:.1f} s ({shots})."
    if attribute == "duration":
        return f"{video.filename} is {video.duration_s:.1f} s long ({clock(video.duration_s)}), {shots}."
    each = "; ".join(f"{s.label} ({span(s)}): {described(s)}" for s in video.shots[:MAX_LISTED])
    return f"{video.filename} ({clock(video.duration_s)}) has {shots}: {each}."


def time(intent, facts: Facts, video: Video | None, subject: Subject | None) -> Reply | None:
    attribute = intent.attribute or "what"
    if video is not None:
        return Reply(_video_sentence(video, attribute), [cite_video(video)])
    if subject is not None and intent.back:
        if subject.video is not None or intent.video_subject:
            whole = subject.video or facts.video(subject.shot.analysis_id)
            return Reply(_video_sentence(whole, attribute), [cite_video(whole)])
        return Reply(attribute_sentence(subject.shot, attribute), [cite(subject.shot)])
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


def _anchor_shot(facts: Facts, anchor: list[str], video: Video | None) -> Shot | None:
    """The first shot whose measured words match the anchor ("the QR code scene", "the red one")."""
    wanted = [a for a in anchor if a not in ("the", "der", "die", "das", "dem")]
    for shot in facts.shots(video):
        said = {fold(w) for w in words(shot.description)} | {fold(w) for c in shot.colours for w in words(c)}
        if shot.faces:
            said |= {"face", "faces", "person", "people", "gesicht"}
        if shot.qr_texts:
            said |= {"qr", "code"}
        colours = {COLOURS.get(a) for a in wanted} - {None}
        families = {f for f, names in COLOUR_FAMILIES.items() if names & set(shot.colours)}
        if wanted and all(a in said or COLOURS.get(a) in families for a in wanted) or (colours and colours <= families):
            return shot
    return None


def step(intent, facts: Facts, video: Video | None, subject: Subject | None) -> Reply | None:
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
        return Reply(attribute_sentence(found, intent.attribute), [cite(found)])
    return Reply(f"{name(found)} ({span(found)}) comes {relation} {base.label}: {described(found)}.", [cite(found)])
