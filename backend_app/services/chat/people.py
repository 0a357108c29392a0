"""Direct answers about the people recognised in the videos (the report's face clusters).

Clusters are per video ("Person A" of one video is not "Person A" of another), and only the
tenant's own reports are read (``facts.Facts``). A question is taken only when a video in
scope has clusters; otherwise the face answers (compose.py) keep it.

- "how many people are in the video?": the clusters per video, with their shots.
- "in which shots does the same person appear?": the people seen in more than one shot.
- "which shots show Person B?": that person's shots.
"""

from __future__ import annotations

import re

from backend_app.services.chat.facts import Facts, Person, Video
from backend_app.services.chat.lexicon import PEOPLE_WORDS, SAME_PERSON, SHOT_WORDS
from backend_app.services.chat.phrasing import MAX_LISTED, Reply, cite, listing, span
from backend_app.services.chat.query import fold, words
from backend_app.services.chat.understand import COUNT_OPENERS
from backend_app.wording import counted

LABEL = re.compile(r"\bperson\s+([a-z]|\d{1,3})\b", re.IGNORECASE)  # "Person B", "person 2"


def respond(question: str, facts: Facts) -> Reply | None:
    """The people answer, or None (not a question about people, or no clusters in scope)."""
    named = facts.find_video(question)
    videos = [v for v in ([named] if named else facts.videos()) if v.people]
    if not videos:
        return None
    tokens = [fold(w) for w in words(question)]
    token_set = set(tokens)
    if label := LABEL.search(question):
        return _shots_of(label.group(1).upper(), videos)
    if token_set & SAME_PERSON and token_set & (PEOPLE_WORDS | {"face", "faces", "gesicht"}):
        return _recurring(videos)
    if COUNT_OPENERS.search(question) and token_set & PEOPLE_WORDS and not token_set & SHOT_WORDS:
        return _count(videos)  # "how many shots have a person?" counts shots (compose.py)
    return None


def _shots_text(video: Video, person: Person) -> list[str]:
    return [f"Shot {i + 1} ({span(s)})" for i in person.shots for s in video.shots if s.index == i]


def _cites(video: Video, person: Person) -> list[dict]:
    return [cite(s) for s in video.shots if s.index in person.shots]


def _count(videos: list[Video]) -> Reply:
    parts, citations = [], []
    for video in videos:
        faces = sum(s.faces for s in video.shots)
        who = [f"{p.label} in {listing(_shots_text(video, p)) or 'no shot'}" for p in video.people]
        parts.append(
            f"{counted(len(video.people), 'different person', 'different people')} "
            f"({counted(faces, 'face')}) in {video.filename}: {'; '.join(who)}"
        )
        for person in video.people:
            citations += [c for c in _cites(video, person) if c not in citations]
    total = sum(len(v.people) for v in videos)
    head = "There is " if total == 1 and len(videos) == 1 else "There are "
    if len(videos) == 1:
        return Reply(head + parts[0] + ".", citations[:MAX_LISTED], "people")
    return Reply(
        f"{counted(total, 'person', 'people')} were recognised, per video: {'; '.join(parts)}.",
        citations[:MAX_LISTED],
        "people",
    )


def _recurring(videos: list[Video]) -> Reply:
    parts, citations = [], []
    for video in videos:
        for person in video.people:
            if len(person.shots) > 1:
                parts.append(f"{person.label} appears in {listing(_shots_text(video, person))} of {video.filename}")
                citations += [c for c in _cites(video, person) if c not in citations]
    if not parts:
        where = videos[0].filename if len(videos) == 1 else f"{counted(len(videos), 'video')}"
        return Reply(f"No person appears in more than one shot of {where}.", kind="people")
    return Reply("; ".join(parts) + ".", citations[: MAX_LISTED * 2], "people")


def _shots_of(letter: str, videos: list[Video]) -> Reply:
    wanted = f"person {letter}".casefold()
    parts, citations = [], []
    for video in videos:
        for person in video.people:
            if person.label.casefold() == wanted:
                shown = _shots_text(video, person)
                parts.append(
                    f"{person.label} appears in {counted(len(shown), 'shot')} of {video.filename}: {listing(shown)}"
                )
                citations += _cites(video, person)
    if not parts:
        known = sorted({p.label for v in videos for p in v.people})
        return Reply(f"No Person {letter} was recognised; the people recognised are {listing(known)}.", kind="people")
    return Reply("; ".join(parts) + ".", citations[: MAX_LISTED * 2], "people")
