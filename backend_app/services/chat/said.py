"""Direct answers about what was said and what was on screen, from the passage index.

``respond(question, facts)`` routes a question to these answers, to the people answers
(people.py) and to the document answers (pages.py); None lets the shot answers
(compose.respond) and then ranked retrieval have it. A kind is taken only when the scope has
passages of that kind: "what does the narrator say?" over videos without a transcript keeps
its "I can't tell" answer. Everything is read through the tenant-scoped passage index.

- "what is said about X?", "when does someone say X?", "was wird über X gesagt?": the speech
  passages matching X, each with its second ("At 0:42 in tour.mp4, someone says “…”").
- "what does the narrator say?": the transcript's first segments.
- "what text appears on screen?", "when does 'EXIT' appear on screen?": the on-screen texts.
"""

from __future__ import annotations

import re

from backend_app.models.passage import KINDS as PASSAGE_KINDS
from backend_app.services.chat import no_speech, pages, passage_search, people
from backend_app.services.chat.facts import Facts, Video
from backend_app.services.chat.lexicon import SCREEN_WORDS, SPEECH
from backend_app.services.chat.passage_search import PassageHit
from backend_app.services.chat.passages import clock
from backend_app.services.chat.phrasing import MAX_LISTED, Reply, listing
from backend_app.services.chat.query import fold, relative_step, words
from backend_app.services.chat.sources import cite_passage, closed, quote, topic
from backend_app.wording import counted

MAX_MATCHES = 5
SCREEN_PHRASE = re.compile(r"\bon (?:the )?screen\b|\bauf dem bildschirm\b", re.IGNORECASE)


def respond(question: str, facts: Facts, last: dict | None = None) -> Reply | None:
    """The answer from passages or people, or None (not such a question, or nothing of its kind).
    ``last`` is the thread's last answer's first citation: "and before that?" after a spoken
    passage or a page is the one before it."""
    if (step := relative_step(question)) and isinstance(last, dict) and last.get("kind") in PASSAGE_KINDS:
        return _step(facts, last, step)
    tokens = {fold(w) for w in words(question)}
    for answer in (pages.respond, people.respond):
        if (reply := answer(question, facts)) is not None:
            return reply
    if tokens & {"qr", "code", "codes"}:
        return None  # "what does the QR code say?" is about the shots' QR payloads
    if (tokens & SCREEN_WORDS or SCREEN_PHRASE.search(question)) and _has(facts, "text"):
        return _screen(question, facts)  # "what does the sign say?": read, not spoken
    if tokens & SPEECH and _has(facts, "speech"):
        return _speech(question, facts)
    return None


def _has(facts: Facts, kind: str) -> bool:
    return bool(passage_search.listing(facts.tenant, kinds=(kind,), limit=1))


def _matches(facts: Facts, kind: str, topic_words: list[str], video: Video | None) -> list[PassageHit]:
    """The scope's passages of ``kind`` holding the topic's words, best first."""
    analysis_id = video.analysis_id if video else None
    hits = passage_search.search(
        facts.tenant, " ".join(topic_words), limit=MAX_MATCHES, kinds=(kind,), analysis_id=analysis_id
    )
    return sorted(hits, key=lambda h: (-h.score, h.filename, h.start_s or 0.0))


def found_words(wanted: list[str], hits: list[PassageHit]) -> list[str]:
    """The asked words the found passages hold (all of them when none does: "nothing mentions …")."""
    texts = " ".join(fold(h.text) for h in hits)
    present = [w for w in wanted if fold(w)[: max(3, len(fold(w)) - 2)] in texts]
    return present or wanted


def _place(hit: PassageHit) -> str:
    return f"{clock(hit.start_s or 0.0)} in {hit.filename}"


def _speech(question: str, facts: Facts) -> Reply:
    video = facts.find_video(question)
    wanted = topic(question, video.filename if video else None)
    if not wanted:  # "what does the narrator say?": the transcript, from its start
        said = passage_search.listing(
            facts.tenant, kinds=("speech",), analysis_id=video.analysis_id if video else None, limit=200
        )
        if not said:
            text = no_speech.why([video]) if video else "This scope has no transcript."
            return Reply(text, kind="speech")
        listed = [f"{_place(h)}: {quote(h.text, 100)}" for h in said[:MAX_LISTED]]
        more = f" and {len(said) - MAX_LISTED} more" if len(said) > MAX_LISTED else ""
        return Reply(
            closed(f"The transcript has {counted(len(said), 'segment')}: {'; '.join(listed)}{more}"),
            [cite_passage(h) for h in said[:MAX_LISTED]],
            "speech",
        )
    hits = _matches(facts, "speech", wanted, video)
    shown = ", ".join(f"“{w}”" for w in found_words(wanted, hits)[:4])
    if not hits:
        where = video.filename if video else "the transcripts in scope"
        return Reply(f"Nothing said in {where} mentions {shown}.", kind="speech")
    hits = sorted(hits, key=lambda h: (h.filename, h.start_s or 0.0))
    if len(hits) == 1:
        hit = hits[0]
        text = closed(f"At {_place(hit)}, someone says {quote(hit.text)}")
    else:
        listed = [f"at {_place(h)}: {quote(h.text, 100)}" for h in hits]
        text = closed(
            f"{shown} {'is' if shown.count('“') == 1 else 'are'} mentioned {counted(len(hits), 'time')}: {'; '.join(listed)}"
        )
    return Reply(text, [cite_passage(h, wanted) for h in hits], "speech")


def _screen(question: str, facts: Facts) -> Reply:
    video = facts.find_video(question)
    wanted = topic(question, video.filename if video else None)
    if not wanted:  # "what text appears on screen?": every text read, in time order
        shown = passage_search.listing(
            facts.tenant, kinds=("text",), analysis_id=video.analysis_id if video else None, limit=200
        )
        if not shown:
            return Reply(f"No text was read on screen in {video.filename if video else 'the videos'}.", kind="text")
        listed = [f"{quote(h.text, 80)} at {_place(h)}" for h in shown[:MAX_LISTED]]
        more = f" and {len(shown) - MAX_LISTED} more" if len(shown) > MAX_LISTED else ""
        return Reply(
            f"On-screen text was read {counted(len(shown), 'time')}: {listing(listed)}{more}.",
            [cite_passage(h) for h in shown[:MAX_LISTED]],
            "text",
        )
    hits = _matches(facts, "text", wanted, video)
    said = ", ".join(f"“{w}”" for w in found_words(wanted, hits)[:4])
    if not hits:
        where = video.filename if video else "the videos in scope"
        return Reply(f"No text on screen in {where} reads {said}.", kind="text")
    hits = sorted(hits, key=lambda h: (h.filename, h.start_s or 0.0))
    listed = [f"{quote(h.text, 80)} at {_place(h)} (until {clock(h.end_s or 0.0)})" for h in hits]
    return Reply(f"On screen: {listing(listed)}.", [cite_passage(h, wanted) for h in hits], "text")


def _step(facts: Facts, last: dict, step: int) -> Reply:
    """The passage before (-1) or after (+1) the one last cited: the segment, text or page next to it."""
    kind = last["kind"]
    source = {"document_id": last.get("document_id")} if kind == "page" else {"analysis_id": last.get("analysis_id")}
    listed = passage_search.listing(facts.tenant, kinds=(kind,), limit=5000, **source)  # this scope's only
    at = next((n for n, h in enumerate(listed) if _same(h, last)), None)
    if at is None:
        return Reply("I can't tell which passage that follows: it is no longer in this scope.", kind=kind)
    if not 0 <= at + step < len(listed):
        edge = ("first", "before") if step < 0 else ("last", "after")
        what = {"speech": "thing said", "text": "text on screen", "page": "page with text"}[kind]
        return Reply(f"That is the {edge[0]} {what} in {listed[at].filename}: there is none {edge[1]} it.", kind=kind)
    hit = listed[at + step]
    when = "Before that" if step < 0 else "After that"
    if kind == "page":
        text = f"{when} comes page {hit.page} of {hit.filename}: {quote(hit.text, 300)}"
    elif kind == "speech":
        text = f"{when}, at {_place(hit)}, someone says {quote(hit.text)}"
    else:
        text = f"{when}, {quote(hit.text, 80)} is on screen at {_place(hit)}"
    return Reply(closed(text), [cite_passage(hit)], kind)


def _same(hit: PassageHit, cited: dict) -> bool:
    if hit.kind == "page":
        return hit.document_id == cited.get("document_id") and hit.page == cited.get("page")
    return hit.analysis_id == cited.get("analysis_id") and hit.start_s == cited.get("start_s")
