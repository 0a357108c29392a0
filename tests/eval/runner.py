"""Runs the chat eval set (chat_questions.yaml) through the chat service and scores each answer.

A question passes when every expected phrase is in the answer's first sentence (the direct
answer), its citations are exactly the expected shots (``file#N``, N the human label counting
from 1), or, for unanswerable ones, the answer says it cannot tell. Every citation is also
checked against the asking scope: a shot of another user's or another session's video counts
as a leak, whatever the question.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from backend_app.errors import AppError

QUESTIONS = Path(__file__).with_name("chat_questions.yaml")
FACTUAL_KINDS = ("count", "superlative", "position", "time", "presence", "compare", "followup", "paraphrase")
# Questions over the speech, on-screen text, people and document pages of Carol's session.
SOURCE_KINDS = ("speech", "screen", "people", "document")
IDK = re.compile(r"^(?:I can't tell|I don't know)")
FIRST_SENTENCE = re.compile(r"^.*?[.!?](?=\s|$)", re.DOTALL)


@dataclass
class Outcome:
    id: str
    kind: str
    lang: str
    question: str
    answer: str
    passed: bool
    leaks: int
    ms: float
    why: str = ""


def load() -> list[dict]:
    return yaml.safe_load(QUESTIONS.read_text())["questions"]


def first_sentence(answer: str) -> str:
    found = FIRST_SENTENCE.match(answer.strip())
    return found.group(0) if found else answer


def cited(c: dict) -> str:
    """A citation as the eval writes it: "file#N" (a shot, from 1), "file~speech@S" and
    "file~text@S" (whole seconds), "file~pN" (a page)."""
    kind = c.get("kind", "shot")
    if kind == "page":
        return f"{c['filename']}~p{c['page']}"
    if kind in ("speech", "text"):
        return f"{c['filename']}~{kind}@{int(c['start_s'])}"
    return f"{c['filename']}#{c['shot'] + 1}"


def _check(item: dict, body: dict) -> str:
    """'' when the answer is right, else why not."""
    expect = item.get("expect") or {}
    answer = body["answer"]
    if expect.get("idk"):
        return "" if IDK.match(answer) else "not an I-can't-tell answer"
    if IDK.match(answer) and not expect.get("idk"):
        return "said it cannot tell"
    if prefix := expect.get("starts"):
        if not answer.startswith(prefix):
            return f"does not start with {prefix!r}"
    head = first_sentence(answer).casefold()
    missing = [p for p in expect.get("first", []) if p.casefold() not in head]
    if missing:
        return f"first sentence lacks {missing}"
    absent = [p for p in expect.get("not", []) if p.casefold() in answer.casefold()]
    if absent:
        return f"says {absent}"
    if top := expect.get("top"):
        first = body["citations"][:1]
        if [cited(c) for c in first] != [top]:
            return f"first citation is not {top}"
    if "cites" in expect:
        listed = sorted(cited(c) for c in body["citations"])
        if listed != sorted(expect["cites"]):
            return f"cites {listed}"
    return ""


def run(world: dict, questions: list[dict] | None = None, mode: str = "offline") -> list[Outcome]:
    """Ask every question as its user in its scope, in file order (follow-ups lean on the one
    before); ``mode`` "ai" sends every question to the configured model (the openai path)."""
    from backend_app.services.chat import conversation

    owned: dict[str, set[str]] = defaultdict(set)  # scope -> analysis ids it may cite
    for source in [*world["videos"].values(), *world.get("documents", {}).values()]:
        owned[f"{source.user_id}/{source.session_id}"].add(source.id)
        owned[f"{source.user_id}/"].add(source.id)
    outcomes = []
    for item in questions or load():
        user = world[item.get("user", "alice")]
        scope = item.get("scope", "trip")
        session_id = None if scope == "all" else world["sessions"][scope].id
        started = time.perf_counter()
        turn = conversation.prepare(user.id, item["ask"], session_id, mode=mode)
        try:
            body = conversation.answer(turn)
        except AppError as exc:  # mode "ai" does not fall back: a failed call is a wrong answer
            body = {"answer": f"[{exc.code}: {exc.details.get('reason', '')}]", "citations": []}
        ms = (time.perf_counter() - started) * 1000
        allowed = owned[f"{user.id}/{session_id or ''}"]
        leaks = sum(1 for c in body["citations"] if (c.get("analysis_id") or c.get("document_id")) not in allowed)
        why = _check(item, body) or ("cites a video outside the scope" if leaks else "")
        outcomes.append(
            Outcome(
                item["id"], item["kind"], item.get("lang", "en"), item["ask"], body["answer"], not why, leaks, ms, why
            )
        )
    return outcomes


def accuracy(outcomes: list[Outcome]) -> dict[str, tuple[int, int]]:
    """kind -> (passed, asked)."""
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for o in outcomes:
        table[o.kind][0] += o.passed
        table[o.kind][1] += 1
    return {kind: (p, n) for kind, (p, n) in sorted(table.items())}


def factual_share(outcomes: list[Outcome], kinds: tuple[str, ...] = FACTUAL_KINDS) -> float:
    factual = [o for o in outcomes if o.kind in kinds]
    return sum(o.passed for o in factual) / len(factual) if factual else 0.0
