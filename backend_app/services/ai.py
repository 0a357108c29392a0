"""Model calls made for a user: the budget checked before, the usage recorded after.

The adapter (adapters/llm.py) talks to the endpoint and keeps its answer cache; this is the
policy around it. Every call names the user it is made for and its purpose; cached answers
cost nothing but are recorded as cached calls. The adapter's ``LLMError`` becomes
``AIProviderFailed`` (AI_PROVIDER_FAILED), or ``AITimeout`` (AI_PROVIDER_TIMEOUT) when the call's
deadline passed; a spent budget is ``usage.BudgetExceeded``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import current_app

from backend_app.adapters import llm
from backend_app.errors import AppError
from backend_app.services import usage


class AIProviderFailed(AppError):
    status, code, message = 502, "AI_PROVIDER_FAILED", "The AI provider did not answer usefully."


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


def _priced(answer: llm.Completion) -> LLMResult:
    cost = usage.estimate_cost(answer.model, answer.prompt_tokens, answer.completion_tokens)
    return LLMResult(
        text=answer.text,
        model=answer.model,
        prompt_tokens=answer.prompt_tokens,
        completion_tokens=answer.completion_tokens,
        cost_usd=cost,
        cached=answer.cached,
    )


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
    deadline_s: float | None = None,
) -> LLMResult:
    """One chat completion: budget check, the adapter (cache, retries with backoff), usage.

    ``deadline_s`` bounds the whole call, retries included (``AITimeout`` past it).

    ``record=False`` leaves the usage row to the caller (``usage.row``): a batch calls from a
    thread pool but writes to the database from one thread only.
    """
    model = model or _settings().openai_model
    usage.check_budget(user_id)
    try:
        answer = llm.complete(
            messages,
            model=model,
            cache_scope=user_id,
            cache_ttl_s=_cache_ttl_s(),
            purpose=purpose,
            json_mode=json_mode,
            attempts=attempts,
            use_cache=use_cache,
            deadline_s=deadline_s,
        )
    except llm.LLMError as exc:
        raise (AITimeout if exc.code == llm.DEADLINE else AIProviderFailed)(exc.message) from exc
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
) -> Iterator[str]:
    """Stream a completion's text pieces; usage is recorded when the stream ends (also when the
    reader leaves early: what was generated is paid for)."""
    model = model or _settings().openai_model
    usage.check_budget(user_id)
    call = llm.Stream(messages, model=model, cache_scope=user_id, cache_ttl_s=_cache_ttl_s(), use_cache=use_cache)
    try:
        yield from call
    except llm.LLMError as exc:
        raise AIProviderFailed(exc.message) from exc
    finally:
        if call.result.cached or call.result.completion_tokens:
            usage.record(user_id, purpose, _priced(call.result))


def forget_user(user_id: str) -> int:
    """Drop a user's cached answers (they can quote requirement text); how many were dropped."""
    return llm.forget(user_id)
