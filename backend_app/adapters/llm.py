"""The LLM adapter: any OpenAI-compatible endpoint, with a Redis cache, usage and budgets.

Every call names the user it is made for and its purpose; the budget is checked before the
call and the tokens and estimated cost are recorded after it (cached answers cost nothing).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib import import_module
from typing import TYPE_CHECKING, Any

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import func, select

from backend_app.errors import AppError
from backend_app.extensions import db, redis_store
from backend_app.models import UsageRecord, User
from backend_app.models.base import utcnow

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)
CACHE_PREFIX = "framewise:llm:"

# Estimated USD per million tokens (input, output); unknown models use the default.
PRICES = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
}
DEFAULT_PRICE = (1.00, 3.00)


class LLMError(AppError):
    status, code, message = 502, "AI_PROVIDER_FAILED", "The AI provider did not answer usefully."


class BudgetExceeded(AppError):
    status, code = 402, "BUDGET_EXCEEDED"
    message = "Your monthly AI budget is used up; offline answers are still available."


@dataclass
class LLMResult:
    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cached: bool = False


def estimate_cost(model: str, prompt_tokens: int, completion_tokens: int) -> float:
    price_in, price_out = PRICES.get(model, DEFAULT_PRICE)
    return (prompt_tokens * price_in + completion_tokens * price_out) / 1_000_000


def _settings():
    return current_app.config["SETTINGS"]


def warm(settings) -> None:
    """Import the openai SDK now when ``settings`` call a model (AI_PROVIDER=openai): ~0.75 s of
    CPU that a process starting up pays once, instead of its first answer (a web worker) or every
    job (a worker's forked horses). With the offline provider nothing loads it (~25 MB)."""
    if settings.effective_ai_provider == "openai":
        import_module("openai")


def client() -> openai.OpenAI:
    settings = _settings()
    return _client(
        settings.openai_api_key or "not-set", settings.openai_base_url or None, settings.openai_timeout_s, os.getpid()
    )


@lru_cache(maxsize=8)
def _client(api_key: str, base_url: str | None, timeout_s: float, _pid: int) -> openai.OpenAI:
    # Building a client loads the CA bundle (~0.2 s of CPU): build one per process and settings,
    # and share it (it is thread-safe); the pid keeps a forked child off its parent's sockets.
    import openai

    return openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=0)


def month_start(now: datetime | None = None) -> datetime:
    now = now or utcnow()
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0, tzinfo=UTC)


def spent_this_month(user_id: str) -> float:
    return float(
        db.session.execute(
            select(func.coalesce(func.sum(UsageRecord.cost_usd), 0.0)).where(
                UsageRecord.user_id == user_id, UsageRecord.created_at >= month_start()
            )
        ).scalar()
    )


def budget_for(user_id: str) -> float:
    user = db.session.get(User, user_id)
    if user is not None and user.monthly_budget_usd is not None:
        return user.monthly_budget_usd
    return _settings().monthly_budget_usd


def check_budget(user_id: str | None) -> None:
    """Raise BudgetExceeded when the user has spent their monthly budget."""
    if user_id is None:
        return
    budget, spent = budget_for(user_id), spent_this_month(user_id)
    if spent >= budget:
        raise BudgetExceeded(details={"budget_usd": budget, "spent_usd": round(spent, 6)})


def record_usage(user_id: str | None, purpose: str, result: LLMResult) -> None:
    db.session.add(
        UsageRecord(
            user_id=user_id,
            purpose=purpose,
            model=result.model,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            cost_usd=result.cost_usd,
            cached=result.cached,
        )
    )
    db.session.commit()


def cache_key(model: str, messages: list[dict[str, Any]], extra: dict[str, Any], user_id: str | None) -> str:
    """Per user, and named by the user: a hit tells its caller that the same call was made before
    (usage shows cached calls, and a hit is faster), so one user's calls must never answer
    another's; and erasing an account finds its entries (``forget_user``)."""
    blob = json.dumps({"model": model, "messages": messages, **extra}, sort_keys=True, ensure_ascii=False)
    return f"{CACHE_PREFIX}{user_id or '-'}:{hashlib.sha256(blob.encode()).hexdigest()}"


def forget_user(user_id: str) -> int:
    """Drop a user's cached answers (they can quote requirement text); how many were dropped."""
    keys = list(redis_store.conn.scan_iter(match=f"{CACHE_PREFIX}{user_id}:*", count=500))
    if keys:
        redis_store.conn.delete(*keys)
    return len(keys)


def _cache_ttl_s() -> int:
    """LLM_CACHE_TTL_S, but never longer than the retention: a cached answer outliving the data
    it was about would keep what the purge removed."""
    settings = _settings()
    return max(1, min(settings.llm_cache_ttl_s, int(settings.purge_retention_h * 3600)))


def _cache_get(key: str) -> dict | None:
    try:
        raw = redis_store.conn.get(key)
    except RedisError:
        return None
    return json.loads(raw) if raw else None


def _cache_set(key: str, value: dict) -> None:
    try:
        redis_store.conn.set(key, json.dumps(value), ex=_cache_ttl_s())
    except RedisError:
        log.warning("LLM cache unavailable")


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
) -> LLMResult:
    """One chat completion: budget check, cache, retries with backoff on transient errors, usage.

    ``record=False`` leaves the usage row to the caller (``record_usage``): a batch calls from a
    thread pool but writes to the database from one thread only.
    """
    model = model or _settings().openai_model
    check_budget(user_id)
    extra = {"json": json_mode}
    key = cache_key(model, messages, extra, user_id)
    if use_cache and (hit := _cache_get(key)):
        result = LLMResult(text=hit["text"], model=model, cached=True)
        if record:
            record_usage(user_id, purpose, result)
        return result
    kwargs: dict[str, Any] = {"model": model, "messages": messages, "temperature": 0}
    if json_mode:
        kwargs["response_format"] = {"type": "json_object"}
    delay = 0.5
    import openai  # on first use: with the offline provider no process loads it (~25 MB with pydantic)

    retryable = (openai.APIConnectionError, openai.APITimeoutError, openai.RateLimitError, openai.InternalServerError)
    for attempt in range(1, attempts + 1):
        try:
            response = client().chat.completions.create(**kwargs)
            break
        except retryable as exc:
            # The exception's kind and status only: its text is the provider's body, which can echo
            # the request (requirement text, which is never stored, logs included).
            log.warning(
                "LLM call failed",
                extra={
                    "attempt": attempt,
                    "error": type(exc).__name__,
                    "status": getattr(exc, "status_code", None),
                    "purpose": purpose,
                },
            )
            if attempt == attempts:
                raise LLMError(f"The AI provider failed after {attempts} attempts: {type(exc).__name__}.") from exc
            time.sleep(delay)
            delay *= 2
        except openai.OpenAIError as exc:
            raise LLMError(f"The AI provider refused the request: {type(exc).__name__}.") from exc
    choice = response.choices[0] if response.choices else None
    text = (choice.message.content or "") if choice else ""
    usage = response.usage
    prompt_tokens = usage.prompt_tokens if usage else 0
    completion_tokens = usage.completion_tokens if usage else 0
    result = LLMResult(
        text=text,
        model=model,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_usd=estimate_cost(model, prompt_tokens, completion_tokens),
    )
    if record:
        record_usage(user_id, purpose, result)
    if use_cache and text:
        _cache_set(key, {"text": text})
    return result


_WORD_PIECES = re.compile(r"\s*\S+|\s+$")  # a cached answer replayed in word-sized pieces


def stream(
    messages: list[dict[str, Any]],
    *,
    user_id: str | None,
    purpose: str,
    model: str | None = None,
    use_cache: bool = True,
) -> Iterator[str]:
    """Stream a completion's text pieces; usage is recorded when the stream ends.

    Shares complete()'s cache: a cached answer is replayed word by word at no cost, and a
    stream that finished fills the cache."""
    model = model or _settings().openai_model
    check_budget(user_id)
    key = cache_key(model, messages, {"json": False}, user_id)
    if use_cache and (hit := _cache_get(key)):
        record_usage(user_id, purpose, LLMResult(text=hit["text"], model=model, cached=True))
        yield from _WORD_PIECES.findall(hit["text"])
        return
    prompt_tokens = completion_tokens = 0
    pieces: list[str] = []
    import openai

    try:
        chunks = client().chat.completions.create(
            model=model, messages=messages, temperature=0, stream=True, stream_options={"include_usage": True}
        )
        for chunk in chunks:
            if chunk.usage:
                prompt_tokens, completion_tokens = chunk.usage.prompt_tokens, chunk.usage.completion_tokens
            for choice in chunk.choices or []:
                piece = choice.delta.content if choice.delta else None
                if piece:
                    pieces.append(piece)
                    yield piece
    except openai.OpenAIError as exc:
        raise LLMError(f"The AI provider failed while streaming: {type(exc).__name__}.") from exc
    finally:
        # Also when the reader went away mid-stream (GeneratorExit): what was generated is paid for.
        if pieces or completion_tokens:
            if not completion_tokens:
                completion_tokens = max(1, len("".join(pieces)) // 4)  # provider sent no usage: estimate
            if not prompt_tokens:
                prompt_tokens = max(1, len(json.dumps(messages)) // 4)
            record_usage(
                user_id,
                purpose,
                LLMResult(
                    text="",
                    model=model,
                    prompt_tokens=prompt_tokens,
                    completion_tokens=completion_tokens,
                    cost_usd=estimate_cost(model, prompt_tokens, completion_tokens),
                ),
            )
    if use_cache and pieces:
        _cache_set(key, {"text": "".join(pieces)})
