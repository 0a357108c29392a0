"""Chat over a user's own videos: retrieve the tenant's shots, answer with citations, keep the thread.

Modes (request field ``mode``):
- ``auto`` (default): the configured provider. With ``openai``, an exhausted monthly budget
  or a failing provider falls back to the offline answer and says so in ``notice``
  (``BUDGET_EXCEEDED`` / ``AI_PROVIDER_FAILED``): the user always gets an answer.
- ``ai``: the user explicitly wants the AI answer: an exhausted budget is a 402
  ``BUDGET_EXCEEDED``, a failing provider a 502 ``AI_PROVIDER_FAILED``, no provider a 409
  ``AI_UNAVAILABLE``; nothing silently degrades.
- ``offline``: the extractive answer, never a paid call.
When nothing matches, no LLM is called at all and the answer says so plainly.

A question the facts of the analyses answer (compose.respond: counts, superlatives, positions,
times, presence, comparisons, follow-ups) is answered from them directly, before retrieval,
in modes ``auto`` and ``offline``; everything else goes through retrieval as before.

With the openai provider and a scope that has analysed videos, the model answers with tools
over those facts (``agent``: at most ``agent.MAX_ROUNDS`` calls in one LLM_DEADLINE_S), or, when
the endpoint takes no tools, from the offline layer's facts put in the prompt; it cites only
shots a tool returned (or the prompt numbered). In mode ``auto`` that is every question the
facts do not answer directly; in mode ``ai`` every question. A model that cannot use the tools
(an empty answer, still calling tools after the last round) is asked once more with the facts
in the prompt; a failing endpoint, a timeout, or that second answer failing too falls back to
the offline answer with the (first) notice (``ai``: the error). CHAT_TOOLS=false skips the
tools. Streamed, every round streams: the answer's tokens pass as the model writes them. A
follow-up also tells the model which shot or video the last answer was about (only one still
in the scope).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import delete, func, select

from backend_app.errors import AppError, Conflict, ValidationError
from backend_app.extensions import db
from backend_app.models import Analysis, ChatMessage, Job
from backend_app.models.job import QUEUED, RUNNING
from backend_app.services import ai, sessions, usage
from backend_app.services.chat import agent, compose, passage_search, said, search, sources
from backend_app.services.chat import answer as chat_answer
from backend_app.services.chat import facts as chat_facts
from backend_app.services.chat import query as search_query
from backend_app.tenancy import Tenant

MODES = ("auto", "ai", "offline")
PURPOSE = "chat"


@dataclass
class Turn:
    """One question being answered: what was retrieved and how it will be answered."""

    tenant: Tenant
    question: str
    mode: str
    terms: list[str]
    hits: list[search.Hit]
    provider: str
    notice: dict | None = None
    citations: list[dict] = field(default_factory=list)
    previous: str | None = None  # the question this one follows up (it was searched with it)
    edge: str | None = None  # "the one before" the first shot: said instead of "nothing matches"
    indexed: int = 1  # shots in the scope's index (counted only when nothing matched)
    said: int = 0  # passages (speech, on-screen text, pages) in the scope's index (likewise)
    analysing: int = 0  # the scope's videos still queued or running (counted only when nothing matched)
    reply: compose.Reply | None = None  # the direct answer from the facts, when the question maps to one
    analysed: int = 0  # the scope's videos with a report (facts to answer from)
    facts: chat_facts.Facts | None = None  # the scope's facts, loaded once for the turn
    passages: list[passage_search.PassageHit] = field(default_factory=list)  # speech, on-screen text, pages

    @property
    def ranked(self) -> list[sources.Ranked]:
        """Retrieval's shots and passages in one list, best first (what an answer numbers)."""
        return sources.merge(self.hits, self.passages, max(len(self.hits), _settings().chat_top_k))

    @property
    def prompt_question(self) -> str:
        """The question as the model reads it: a follow-up with the question it follows."""
        if self.previous:
            return f"{self.question}\n(This follows up the earlier question: {self.previous})"
        return self.question


def _settings():
    return current_app.config["SETTINGS"]


def clean_message(message: str) -> str:
    """The question without control characters (PostgreSQL rejects NUL); the length limit counts
    the message as sent (as the OpenAPI document says)."""
    text = "".join(c for c in message if c in "\n\t" or unicodedata.category(c)[0] != "C").strip()
    limit = _settings().chat_max_message_chars
    if not text or len(message) > limit:
        raise ValidationError(
            f"A message needs 1 to {limit} characters.",
            details={"fields": {"message": f"must be 1 to {limit} characters"}},
        )
    return text


def tenant_for(user_id: str, session_id: str | None) -> Tenant:
    """The chat's tenant; a session that is not the user's answers 404 SESSION_NOT_FOUND."""
    tenant = Tenant(user_id)
    if session_id is not None:
        sessions.get(tenant, session_id)
        tenant = tenant.in_session(session_id)
    return tenant


# The notices of an answer that stopped before its end (ChatMessage.notice keeps the code).
INTERRUPTED = {
    "code": "ANSWER_INTERRUPTED",
    "message": "The AI provider stopped mid-answer; the part received is kept.",
}
CUT = {
    "loop": {"code": "ANSWER_CUT", "message": "The model started repeating itself; the answer was stopped there."},
    "timeout": {
        "code": "ANSWER_CUT",
        "message": "The answer took too long and was stopped; the part received is kept.",
    },
    "truncated": {"code": "ANSWER_CUT", "message": "The answer reached its length limit."},
}


def _notice(error: AppError) -> dict:
    return {"code": error.code, "message": error.message, "details": error.details}


def _provider(tenant: Tenant, mode: str) -> tuple[str, dict | None]:
    if mode not in MODES:
        raise ValidationError("mode must be auto, ai or offline.", details={"fields": {"mode": "auto|ai|offline"}})
    if mode == "offline":
        return "offline", None
    if _settings().effective_ai_provider != "openai":
        if mode == "ai":
            raise Conflict("AI answers are not configured here; offline answers are available.", code="AI_UNAVAILABLE")
        return "offline", None
    # "auto" checks no budget here: a cached answer is free and allowed over budget, and the call
    # checks it only when it must reach the endpoint (falling back then). "ai" refuses up front.
    if mode == "ai":
        usage.check_budget(tenant.user_id)
    return "openai", None


def prepare(user_id: str, message: str, session_id: str | None = None, mode: str = "auto") -> Turn:
    """Validate, retrieve and choose the provider; stores the question in the thread."""
    tenant = tenant_for(user_id, session_id)
    question = clean_message(message)
    provider, notice = _provider(tenant, mode)
    asked, previous, edge, found = question, None, None, []
    facts = chat_facts.Facts(tenant)
    # A question the facts answer needs no model (mode "ai" asks for the model's answer, which
    # may still be given these facts: an endpoint without tools gets them in its prompt).
    last = _last_citation(tenant)
    reply = said.respond(question, facts, last) or compose.respond(question, facts, last)
    direct = reply if mode != "ai" else None
    step = search_query.relative_step(question)
    if direct is not None:
        hits = []
    elif step and (current := _last_cited_shot(tenant)):  # "and the one before?": that shot's neighbour
        neighbour = search.shot(tenant, current.analysis_id, current.shot + step)
        hits = [neighbour] if neighbour else []
        if neighbour is None:
            edge = chat_answer.no_neighbour(current.filename, current.shot, step)
        previous = _previous_question(tenant)
    else:
        if follow_up(question) and (previous := _previous_question(tenant)):
            asked = f"{question} {previous}"  # "and when does it end?" is read with what "it" was
        hits = search.search(tenant, asked, limit=_settings().chat_top_k)
        found = passage_search.search(tenant, asked, limit=_settings().chat_top_k)
    turn = Turn(tenant, question, mode, search_query.terms(asked), hits, provider, notice, previous=previous, edge=edge)
    turn.reply, turn.analysed, turn.facts = reply, len(facts.videos()), facts
    turn.passages = found
    if not turn.ranked and not (provider == "openai" and turn.analysed and direct is None and edge is None):
        turn.provider = "offline"  # answered from the facts, or nothing to ground an AI answer on
        if reply is None:
            turn.said = passage_search.indexed_count(tenant)
            turn.indexed = search.indexed_count(tenant) + turn.said
            turn.analysing = _analysing(tenant)
    db.session.add(ChatMessage(user_id=tenant.user_id, session_id=tenant.session_id, role="user", content=question))
    db.session.commit()
    return turn


_OPENER = re.compile(r"^\s*(?:and|also|what about|how about|und|auch|was ist mit)\b", re.IGNORECASE)
# "there" points back ("what happens there?") except in "is there …?"/"are there …?".
_BACK_REFERENCE = re.compile(
    r"\b(?:it|its|that|this|they|them|there(?<!is there)(?<!are there)|es|das|dort|dann)\b", re.IGNORECASE
)


def follow_up(question: str) -> bool:
    """A question that leans on the one before: it opens with "and …"/"what about …", or points
    back ("it", "there") with at most two words of its own to search for."""
    own = search_query.terms(question)
    return bool(_OPENER.match(question)) and len(own) <= 3 or (bool(_BACK_REFERENCE.search(question)) and len(own) <= 2)


def _previous_question(tenant: Tenant) -> str | None:
    """The user's last question in this thread (same user, same scope), if any."""
    return db.session.execute(
        _newest_first(tenant, ChatMessage.content).where(ChatMessage.role == "user").limit(1)
    ).scalar()


def _last_citation(tenant: Tenant) -> dict | None:
    """The thread's last answer's first citation (what "it" and "the one before" refer to)."""
    citations = db.session.execute(
        _newest_first(tenant, ChatMessage.citations).where(ChatMessage.role == "assistant").limit(1)
    ).scalar()
    first = (citations or [None])[0]
    return first if isinstance(first, dict) else None


def _last_cited_shot(tenant: Tenant) -> search.Hit | None:
    """The shot first cited by the thread's last answer (what "the one before" counts from), if it
    is still in the tenant's scope."""
    first = _last_citation(tenant)
    if isinstance(first, dict) and isinstance(first.get("analysis_id"), str) and isinstance(first.get("shot"), int):
        return search.shot(tenant, first["analysis_id"], first["shot"])
    return None


def _newest_first(tenant: Tenant, *columns):
    """The tenant's thread (its user, its session or "all my videos"), newest message first."""
    scope = ChatMessage.session_id == tenant.session_id if tenant.session_id else ChatMessage.session_id.is_(None)
    return (
        select(*columns)
        .where(ChatMessage.user_id == tenant.user_id, scope)
        .order_by(ChatMessage.created_at.desc(), ChatMessage.id.desc())
    )


def _analysing(tenant: Tenant) -> int:
    """The scope's videos whose analysis is queued or running."""
    query = (
        select(func.count())
        .select_from(Analysis)
        .join(Job, Job.id == Analysis.job_id)
        .where(Analysis.user_id == tenant.user_id, Job.status.in_((QUEUED, RUNNING)))
    )
    if tenant.session_id is not None:
        query = query.where(Analysis.session_id == tenant.session_id)
    return int(db.session.execute(query).scalar())


def _offline(turn: Turn) -> str:
    turn.provider = "offline"
    if turn.reply is not None:
        turn.citations = turn.reply.citations
        return turn.reply.text
    if turn.edge and not turn.hits:
        return turn.edge
    if turn.passages:  # speech, on-screen text or pages matched too: one ranked list of both
        ranked = turn.ranked[: _settings().chat_top_k]
        turn.citations = [sources.citation(r, turn.terms) for r in ranked]
        return sources.mixed_answer(ranked, turn.terms, limit=_settings().chat_top_k)
    turn.citations = [chat_answer.citation(h, turn.terms) for h in turn.hits]
    scoped = turn.tenant.session_id is not None
    if not turn.hits and turn.said and turn.terms:  # transcripts, on-screen text or pages were searched too
        text = sources.nothing_found(turn.terms, scoped, videos=bool(turn.analysed))
        return " ".join(p for p in (text, chat_answer.still_analysing(turn.analysing, more=True)) if p)
    if not turn.hits and turn.analysed and turn.terms and turn.indexed:
        text = compose.cant_tell_words(turn.terms, scoped=turn.tenant.session_id is not None)
        return " ".join(p for p in (text, chat_answer.still_analysing(turn.analysing, more=True)) if p)
    return chat_answer.offline_answer(
        turn.hits,
        turn.terms,
        scoped=turn.tenant.session_id is not None,
        limit=_settings().chat_top_k,
        indexed=turn.indexed,
        analysing=turn.analysing,
    )


def _fallback(turn: Turn, error: AppError) -> str:
    if turn.mode == "ai":
        raise error
    turn.notice = _notice(error)
    return _offline(turn)


def _cite(turn: Turn, order: list[int]) -> None:
    if turn.passages:
        ranked = turn.ranked
        turn.citations = [sources.citation(ranked[n - 1], turn.terms) for n in order]
        return
    turn.citations = [chat_answer.citation(turn.hits[n - 1], turn.terms) for n in order]


def _messages(turn: Turn) -> tuple[list[dict], int]:
    """The retrieval prompt (numbered shots, and passages when some matched) and its size."""
    if turn.passages:
        ranked = turn.ranked
        return sources.build_messages(turn.prompt_question, ranked), len(ranked)
    return chat_answer.build_messages(turn.prompt_question, turn.hits), len(turn.hits)


def _store_answer(turn: Turn, answer: str) -> ChatMessage:
    message = ChatMessage(
        user_id=turn.tenant.user_id,
        session_id=turn.tenant.session_id,
        role="assistant",
        content=answer,
        citations=turn.citations,
        provider=turn.provider,
        notice=turn.notice["code"] if turn.notice else None,
    )
    db.session.add(message)
    db.session.commit()
    return message


def result(turn: Turn, answer: str, message: ChatMessage) -> dict:
    return {
        "answer": answer,
        "citations": turn.citations,
        "provider": turn.provider,
        "notice": turn.notice,
        "message_id": message.id,
        "session_id": turn.tenant.session_id,
    }


def answer(turn: Turn) -> dict:
    """The whole answer at once."""
    if turn.provider == "openai":
        try:
            if turn.analysed:
                text = _over_facts(turn)
            else:
                messages, count = _messages(turn)
                reply = ai.complete(messages, user_id=turn.tenant.user_id, purpose=PURPOSE)
                text, order = chat_answer.clean_citations(reply.text, count)
                _cite(turn, order)
        except (ai.AIProviderFailed, usage.BudgetExceeded) as exc:
            text = _fallback(turn, exc)
    else:
        text = _offline(turn)
    return result(turn, text, _store_answer(turn, text))


def _model_question(turn: Turn) -> str:
    """The question as the model reads it; a follow-up also names what the last answer was about
    (its first citation, when still in the scope), so "and when does it end?" has a subject."""
    question = turn.prompt_question
    if not (follow_up(turn.question) or search_query.relative_step(turn.question)):
        return question
    subject = compose.last_subject(turn.facts, _last_citation(turn.tenant))
    if subject is not None and subject.shot is not None:
        shot = subject.shot
        about = f"Shot {shot.index + 1} of {shot.filename} (analysis_id {shot.analysis_id})"
    elif subject is not None and subject.video is not None:
        about = f"the video {subject.video.filename} (analysis_id {subject.video.analysis_id})"
    else:
        return question
    return f"{question}\n(The previous answer was about {chat_answer.fence(about)}.)"


def _over_facts(turn: Turn) -> str:
    """The model's whole answer over the scope's facts: the tool loop, or (no tools) the facts
    in the prompt; sets the citations."""
    user_id, deadline_at, question = turn.tenant.user_id, agent.deadline(), _model_question(turn)
    first_failure = None
    if _tools_on():
        try:
            found = agent.with_tools(question, turn.facts, user_id, deadline_at)
        except agent.Unusable as exc:
            first_failure = exc  # the model could not use the tools: once more with the facts given
        except ai.AIProviderFailed as exc:
            if exc.reason != agent.NO_TOOLS:
                raise
        else:
            turn.citations = found.citations
            return found.text
    shots = agent.context_shots(turn.facts, turn.reply, turn.hits, turn.passages)
    try:
        found = agent.with_facts(agent.facts_messages(question, turn.reply, shots), shots, user_id, deadline_at)
    except ai.AIProviderFailed as exc:
        raise first_failure or exc from exc
    turn.citations = found.citations
    return found.text


def _tools_on() -> bool:
    """Tools for this answer: CHAT_TOOLS on, and the endpoint not known to refuse them."""
    return _settings().chat_tools and ai.can_call_tools()


def _stream_over_facts(turn: Turn, outcome: list[str]) -> Iterator[str]:
    """``_over_facts`` streamed: every round's tokens as the model writes them."""
    user_id, deadline_at, question = turn.tenant.user_id, agent.deadline(), _model_question(turn)
    first_failure = None
    if _tools_on():
        found = agent.Result("")
        try:
            yield from agent.stream_with_tools(question, turn.facts, user_id, deadline_at, outcome, found)
        except ai.AIProviderFailed as exc:
            unusable = isinstance(exc, agent.Unusable)
            if found.text or not (unusable or exc.reason == agent.NO_TOOLS):
                raise
            first_failure = exc if unusable else None
        else:
            turn.citations = found.citations
            return
    shots = agent.context_shots(turn.facts, turn.reply, turn.hits, turn.passages)
    found = agent.Result("")
    messages = agent.facts_messages(question, turn.reply, shots)
    try:
        yield from agent.stream_with_facts(messages, shots, user_id, deadline_at, outcome, found)
    except ai.AIProviderFailed as exc:
        if found.text:
            raise
        raise first_failure or exc from exc
    turn.citations = found.citations


def answer_stream(turn: Turn) -> Iterator[tuple[str, dict]]:
    """The answer as (event, data) pairs: ``token`` pieces, then ``done`` (or ``error``)."""
    sent: list[str] = []
    if turn.provider == "openai":
        outcome: list[str] = []
        try:
            for piece in _ai_pieces(turn, outcome):
                sent.append(piece)
                yield "token", {"text": piece}
        except (ai.AIProviderFailed, usage.BudgetExceeded) as exc:
            if sent:  # keep what arrived, marked: the thread shows the question with its partial answer
                turn.notice = {**INTERRUPTED, "details": {"reason": getattr(exc, "reason", "") or exc.code}}
                message = _store_answer(turn, "".join(sent))
                yield "error", {**turn.notice, "message_id": message.id, "partial": True}
                return
            if turn.mode == "ai":
                yield "error", _notice(exc)
                return
            turn.notice = _notice(exc)
            turn.provider = "offline"
        if outcome and outcome[0] in CUT:
            turn.notice = {**CUT[outcome[0]], "details": {"reason": outcome[0]}}
            text = ai.without_loop("".join(sent)) if outcome[0] == "loop" else "".join(sent)
            yield "done", result(turn, text, _store_answer(turn, text))
            return
    if turn.provider == "offline":
        for piece in re.findall(r"\s*\S+", _offline(turn)):
            sent.append(piece)
            yield "token", {"text": piece}
    text = "".join(sent)
    yield "done", result(turn, text, _store_answer(turn, text))


def _ai_pieces(turn: Turn, outcome: list[str]) -> Iterator[str]:
    """The model's streamed text with citations checked as they pass; sets the turn's citations."""
    if turn.analysed:
        yield from _stream_over_facts(turn, outcome)
        return
    messages, count = _messages(turn)
    flt = chat_answer.CitationFilter(count)
    for piece in ai.stream(
        messages,
        user_id=turn.tenant.user_id,
        purpose=PURPOSE,
        outcome=outcome,
    ):
        if released := flt.feed(piece):
            yield released
    if rest := flt.flush():
        yield rest
    _cite(turn, flt.order)


def history(user_id: str, session_id: str | None, limit: int = 100) -> list[ChatMessage]:
    """The user's thread for that scope (None: "all my videos"), oldest first, the last ``limit``."""
    rows = db.session.execute(_newest_first(tenant_for(user_id, session_id), ChatMessage).limit(limit))
    return list(reversed(rows.scalars().all()))


def purge_messages(cutoff: datetime, dry_run: bool = False) -> dict[str, int]:
    """Chat messages older than the retention cutoff (PURGE_RETENTION_H, like the analyses they cite)."""
    old = ChatMessage.created_at < cutoff
    if dry_run:
        return {
            "chat_messages": int(db.session.execute(select(func.count()).select_from(ChatMessage).where(old)).scalar())
        }
    count = db.session.execute(delete(ChatMessage).where(old)).rowcount or 0
    db.session.commit()
    return {"chat_messages": count}
