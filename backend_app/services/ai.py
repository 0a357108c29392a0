"""Model calls made for a user: the budget checked before, the usage recorded after.

The adapter (adapters/llm.py) talks to the endpoint and keeps its answer cache; this is the
policy around it. Every call names the user it is made for and its purpose, which sets its
``max_tokens`` (``MAX_TOKENS``). Cached answers cost nothing, are allowed over budget and are
recorded as cached calls; every call that reached the endpoint is recorded with its outcome,
the failed, timed-out and abandoned ones too (their tokens estimated). The adapter's
``LLMError`` becomes ``AIProviderFailed`` (AI_PROVIDER_FAILED, the adapter's code in
``details.reason``), or ``AITimeout`` (AI_PROVIDER_TIMEOUT) when the call's deadline passed;
a spent budget is ``usage.BudgetExceeded``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import current_app

from backend_app.adapters import llm, llm_caps
from backend_app.errors import AppError
from backend_app.services import usage

log = logging.getLogger(__name__)


class AIProviderFailed(AppError):
    status, code, message = 502, "AI_PROVIDER_FAILED", "The AI provider did not answer usefully."
    call: LLMResult | None = None  # what the failed call cost, when it reached the endpoint

    @classmethod
    def of(cls, exc: llm.LLMError) -> AIProviderFailed:
        """The adapter's error as ours: ``AITimeout`` when the call's deadline passed."""
        kind = AITimeout if exc.code == llm.DEADLINE else AIProviderFailed
        return kind(exc.message, details={"reason": exc.code})

    @property
    def reason(self) -> str:
        return self.details.get("reason", "")


# Where a purpose's prompt format needs them, the sequences that end its answer: the chat prompt is
# "<documents>…</documents> Question: …", which a small model continues with a question of its own.
STOPS = {"chat": ["\nQuestion:", "<documents>"]}
# The setting that caps each purpose's answer (any other purpose: the chat's).
MAX_TOKENS = {
    "chat": "llm_max_tokens_chat",
    "requirements": "llm_max_tokens_json",
    "video_description": "llm_max_tokens_describe",
    "study": "llm_max_tokens_study",
}


class AITimeout(AIProviderFailed):
    """The call's deadline passed before the provider answered (the connection was closed)."""

    status, code, message = 504, "AI_PROVIDER_TIMEOUT", "The AI provider did not answer in time."


@dataclass
class LLMResult:
    """One call's answer with its tokens and estimated cost."""

    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cached: bool = False
    outcome: str = "ok"
    tool_calls: list[dict[str, str]] = field(default_factory=list)  # [{id, name, arguments}] when offered tools


def _priced(answer: llm.Completion) -> LLMResult:
    cost = 0.0 if answer.cached else usage.estimate_cost(answer.model, answer.prompt_tokens, answer.completion_tokens)
    return LLMResult(
        text=answer.text,
        model=answer.model,
        prompt_tokens=answer.prompt_tokens,
        completion_tokens=answer.completion_tokens,
        cost_usd=cost,
        cached=answer.cached,
        outcome=answer.outcome,
        tool_calls=list(answer.tool_calls),
    )


def max_tokens(purpose: str) -> int:
    return getattr(_settings(), MAX_TOKENS.get(purpose, "llm_max_tokens_chat"))


def endpoint_status(max_age_s: float = 30.0) -> dict[str, Any]:
    """The provider, its model and what is known of the endpoint: reachable, latency, last error,
    capabilities. Read from the shared record (capabilities come from a worker's start-up probe);
    when that is older than ``max_age_s`` the endpoint is asked again (its model list only, 2 s at
    most, no model call), so /health tells the truth about now."""
    settings = _settings()
    if settings.effective_ai_provider != "openai":
        return {"provider": "offline", "model": None, "note": "answers are built from the analyses; no model is called"}
    known = llm_caps.status()
    if time.time() - float(known.get("probed_at") or 0) > max_age_s:
        known = llm.probe(full=False, timeout_s=2.0)
    return {
        "provider": "openai",
        "model": settings.openai_model,
        "base_url": settings.openai_base_url or "https://api.openai.com/v1",
        "reachable": known.get("reachable"),
        "latency_ms": known.get("latency_ms"),
        "last_error": _dated(known.get("last_error")),
        "capabilities": {k: known.get(k) for k in ("json_mode", "tools", "vision", "slots")},
        "models": known.get("models"),
    }


def _dated(error: dict | None) -> dict | None:
    """An error's Unix time as ISO 8601 UTC."""
    if not error:
        return None
    at = datetime.fromtimestamp(float(error.get("at") or 0), UTC).isoformat(timespec="seconds")
    return {**error, "at": at.replace("+00:00", "Z")}


def probe_in_background(app) -> threading.Thread:
    """Probe the endpoint once at start-up, off the start's path (a worker's parent, the web app)."""

    def run() -> None:
        with app.app_context():
            try:
                llm.probe(full=True)
            except Exception:  # a probe is advice: never take a process down with it
                log.warning("LLM endpoint probe failed", exc_info=True)

    thread = threading.Thread(target=run, name="llm-probe", daemon=True)
    thread.start()
    return thread


def without_loop(text: str) -> str:
    """A looping answer up to where it began repeating itself."""
    return llm.without_loop(text)


def can_call_tools() -> bool:
    """False once the endpoint has shown that it takes no tools (probe or a refused call); unknown counts as yes."""
    return llm_caps.status().get("tools") is not False


def can_read_images() -> bool:
    """False once the endpoint has shown that its model has no image input."""
    return llm_caps.can_read_images()


def _settings():
    return current_app.config["SETTINGS"]


def _cache_ttl_s() -> int:
    """LLM_CACHE_TTL_S, but never longer than the retention: a cached answer outliving the data
    it was about would keep what the purge removed."""
    settings = _settings()
    return max(1, min(settings.llm_cache_ttl_s, int(settings.purge_retention_h * 3600)))


def complete(
    messages: list[dict[str, Any]],
    *,
    user_id: str | None,
    purpose: str,
    model: str | None = None,
    json_mode: bool = False,
    attempts: int = 3,
    use_cache: bool = True,
    record: bool = True,
    valid: Callable[[str], bool] | None = None,
    deadline_s: float | None = None,
    tools: list[dict[str, Any]] | None = None,
) -> LLMResult:
    """One chat completion: the cache, the budget check (only when the endpoint is called), the
    adapter (retries with backoff inside one deadline), usage.

    ``deadline_s`` bounds the whole call, retries included (``AITimeout`` past it; LLM_DEADLINE_S
    when None).

    ``valid`` says whether an answer is usable: only usable answers are cached, and the others
    are recorded as ``invalid``. ``record=False`` leaves the usage rows to the caller
    (``usage.row``; a failed call's cost is ``AIProviderFailed.call``): a batch calls from a
    thread pool but writes to the database from one thread only.

    ``tools`` offers the model functions; its calls come back in ``LLMResult.tool_calls`` (each
    round of a tool loop is one call here, with its own usage row). An endpoint that refuses
    tools is ``AIProviderFailed`` with reason ``MODEL_CANNOT_CALL_TOOLS``.
    """
    model = model or _settings().openai_model
    try:
        answer = llm.complete(
            messages,
            model=model,
            cache_scope=user_id,
            cache_ttl_s=_cache_ttl_s(),
            max_tokens=max_tokens(purpose),
            stop=STOPS.get(purpose),
            deadline_s=deadline_s,
            purpose=purpose,
            json_mode=json_mode,
            attempts=attempts,
            use_cache=use_cache,
            cache_if=valid,
            before_call=lambda: usage.check_budget(user_id),
            tools=tools,
        )
    except llm.LLMError as exc:
        failure = AIProviderFailed.of(exc)
        failure.call = _priced(exc.call) if exc.call is not None else None
        if record and failure.call is not None:
            usage.record(user_id, purpose, failure.call)
        raise failure from exc
    result = _priced(answer)
    if record:
        usage.record(user_id, purpose, result)
    return result


def stream(
    messages: list[dict[str, Any]],
    *,
    user_id: str | None,
    purpose: str,
    model: str | None = None,
    use_cache: bool = True,
    outcome: list[str] | None = None,
    deadline_s: float | None = None,
    tools: list[dict[str, Any]] | None = None,
    calls: list[dict[str, str]] | None = None,
) -> Iterator[str]:
    """Stream a completion's text pieces; usage is recorded when the stream ends, however it
    ends (the reader leaving early included: what was generated is paid for). ``outcome``, when
    given, receives the call's outcome: ``loop``, ``timeout`` and ``truncated`` streams stop
    early without an error. With ``tools``, ``calls`` receives the model's function calls when
    the stream ends (a refused tools request: ``MODEL_CANNOT_CALL_TOOLS``, as for ``complete``)."""
    model = model or _settings().openai_model
    call = llm.Stream(
        messages,
        model=model,
        cache_scope=user_id,
        cache_ttl_s=_cache_ttl_s(),
        max_tokens=max_tokens(purpose),
        stop=STOPS.get(purpose),
        deadline_s=deadline_s,
        use_cache=use_cache,
        before_call=lambda: usage.check_budget(user_id),
        tools=tools,
    )
    try:
        yield from call
    except llm.LLMError as exc:
        raise AIProviderFailed.of(exc) from exc
    finally:
        if outcome is not None:
            outcome.append(call.result.outcome)
        if calls is not None:
            calls.extend(call.result.tool_calls)
        if call.result.cached or call.result.prompt_tokens or call.result.completion_tokens:
            usage.record(user_id, purpose, _priced(call.result))


def forget_user(user_id: str) -> int:
    """Drop a user's cached answers (they can quote requirement text); how many were dropped."""
    return llm.forget(user_id)
