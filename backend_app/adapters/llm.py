"""The LLM adapter: any OpenAI-compatible Chat Completions endpoint, with a Redis answer cache.

It speaks the endpoint's language only: messages in, text and token counts out, retries with
backoff on transient errors, and its own coded ``LLMError``. Whose budget a call spends, what
it costs and the usage row it leaves are policy, in ``services/ai.py``.

A call can have a total deadline (``complete(..., deadline_s=2)``): connecting, sending, waiting
for and reading the answer, retries and their backoff all fit in it. The SDK's own timeout is per
network operation (a server that trickles its answer a byte at a time never trips it), so the
client's connections are made by ``DeadlineBackend``, whose every socket operation gets at most
the time left before the current call's deadline; past it the operation fails, the HTTP layer
closes the connection, and the call raises ``LLMError(DEADLINE)``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module
from typing import TYPE_CHECKING, Any

from flask import current_app
from redis.exceptions import RedisError

from backend_app.extensions import redis_store

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)
CACHE_PREFIX = "framewise:llm:"

# LLMError codes: the endpoint kept failing in a way that may pass (connection, timeout, rate
# limit, 5xx), it refused the request, a stream broke off, or the call's deadline passed.
UNAVAILABLE, REFUSED, STREAM_FAILED = "PROVIDER_UNAVAILABLE", "PROVIDER_REFUSED", "STREAM_FAILED"
DEADLINE = "PROVIDER_DEADLINE"
_DEADLINE_AT: ContextVar[float | None] = ContextVar("llm_deadline_at", default=None)


class LLMError(Exception):
    """The endpoint did not answer usefully; ``retryable`` when trying later may help."""

    def __init__(self, code: str, message: str, *, retryable: bool = False):
        super().__init__(message)
        self.code, self.message, self.retryable = code, message, retryable


@dataclass
class Completion:
    """One answer: its text and the tokens the endpoint counted (none for a cached answer)."""

    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False


def warm(settings) -> None:
    """Import the openai SDK now when ``settings`` call a model (AI_PROVIDER=openai): ~0.75 s of
    CPU that a process starting up pays once, instead of its first answer (a web worker) or every
    job (a worker's forked horses). With the offline provider nothing loads it (~25 MB)."""
    if settings.effective_ai_provider == "openai":
        import_module("openai")
        # And this process's client (the CA bundle, ~0.2 s): a single request's deadline
        # (complete(deadline_s=…)) starts after the client exists, so it never waits for one.
        _client(
            settings.openai_api_key or "not-set",
            settings.openai_base_url or None,
            settings.openai_timeout_s,
            os.getpid(),
        )


def client() -> openai.OpenAI:
    """The process's client for the configured endpoint."""
    settings = current_app.config["SETTINGS"]
    return _client(
        settings.openai_api_key or "not-set", settings.openai_base_url or None, settings.openai_timeout_s, os.getpid()
    )


@lru_cache(maxsize=8)
def _client(api_key: str, base_url: str | None, timeout_s: float, _pid: int) -> openai.OpenAI:
    # Building a client loads the CA bundle (~0.2 s of CPU): build one per process and settings,
    # and share it (it is thread-safe); the pid keeps a forked child off its parent's sockets.
    import openai

    http_client = openai.DefaultHttpxClient(transport=_deadline_transport())
    return openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=0, http_client=http_client)


def _deadline_transport():
    """The SDK's HTTP transport (its default connection limits), with connections that keep deadlines."""
    import httpcore2
    import httpx2
    import openai

    class DeadlineStream(httpcore2.NetworkStream):
        """A connection whose reads and writes end by the current call's deadline."""

        def __init__(self, inner: httpcore2.NetworkStream):
            self.inner = inner

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            return self.inner.read(max_bytes, _bounded(timeout, httpcore2.ReadTimeout))

        def write(self, buffer: bytes, timeout: float | None = None) -> None:
            self.inner.write(buffer, _bounded(timeout, httpcore2.WriteTimeout))

        def close(self) -> None:
            self.inner.close()

        def start_tls(self, ssl_context, server_hostname=None, timeout=None):
            bounded = _bounded(timeout, httpcore2.ConnectTimeout)
            return DeadlineStream(self.inner.start_tls(ssl_context, server_hostname, bounded))

        def get_extra_info(self, info: str) -> Any:
            return self.inner.get_extra_info(info)

    class DeadlineBackend(httpcore2.SyncBackend):
        def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
            bounded = _bounded(timeout, httpcore2.ConnectTimeout)
            return DeadlineStream(super().connect_tcp(host, port, bounded, local_address, socket_options))

        def connect_unix_socket(self, path, timeout=None, socket_options=None):
            bounded = _bounded(timeout, httpcore2.ConnectTimeout)
            return DeadlineStream(super().connect_unix_socket(path, bounded, socket_options))

    transport = httpx2.HTTPTransport(limits=openai.DEFAULT_CONNECTION_LIMITS)
    # httpx builds its connection pool without a way to pass a network backend; the pool uses its
    # backend for every connection it opens from now on.
    transport._pool._network_backend = DeadlineBackend()
    return transport


def _bounded(timeout: float | None, expired: type[Exception]) -> float | None:
    """``timeout`` cut to the time left before the current call's deadline; past it, ``expired``."""
    deadline_at = _DEADLINE_AT.get()
    if deadline_at is None:
        return timeout
    left = deadline_at - time.monotonic()
    if left <= 0:
        raise expired("the call's deadline passed")
    return left if timeout is None else min(timeout, left)


@contextmanager
def _deadline(deadline_at: float | None):
    token = _DEADLINE_AT.set(deadline_at)
    try:
        yield
    finally:
        _DEADLINE_AT.reset(token)


def cache_key(model: str, messages: list[dict[str, Any]], extra: dict[str, Any], scope: str | None) -> str:
    """Per scope (the user), and named by it: a hit tells its caller that the same call was made
    before (usage shows cached calls, and a hit is faster), so one user's calls must never answer
    another's; and erasing an account finds its entries (``forget``)."""
    blob = json.dumps({"model": model, "messages": messages, **extra}, sort_keys=True, ensure_ascii=False)
    return f"{CACHE_PREFIX}{scope or '-'}:{hashlib.sha256(blob.encode()).hexdigest()}"


def forget(scope: str) -> int:
    """Drop a scope's cached answers; how many were dropped."""
    keys = list(redis_store.conn.scan_iter(match=f"{CACHE_PREFIX}{scope}:*", count=500))
    if keys:
        redis_store.conn.delete(*keys)
    return len(keys)


def _cache_get(key: str) -> dict | None:
    try:
        raw = redis_store.conn.get(key)
    except RedisError:
        return None
    return json.loads(raw) if raw else None


def _cache_set(key: str, value: dict, ttl_s: int) -> None:
    try:
        redis_store.conn.set(key, json.dumps(value), ex=ttl_s)
    except RedisError:
        log.warning("LLM cache unavailable")


def complete(
    messages: list[dict[str, Any]],
    *,
    model: str,
    cache_scope: str | None,
    cache_ttl_s: int,
    purpose: str = "",
    json_mode: bool = False,
    attempts: int = 3,
    use_cache: bool = True,
    deadline_s: float | None = None,
) -> Completion:
    """One chat completion: the scope's cache, then the endpoint with retries and backoff.

    ``deadline_s``: seconds the whole call may take, retries included; the connection is closed
    when it passes and ``LLMError(DEADLINE)`` raised. ``purpose`` only labels the log lines of
    failed attempts."""
    key = cache_key(model, messages, {"json": json_mode}, cache_scope)
    if use_cache and (hit := _cache_get(key)):
        return Completion(text=hit["text"], model=model, cached=True)
    kwargs: dict[str, Any] = {"model": model, "messages": messages, "temperature": 0}
    if json_mode:
        kwargs["response_format"] = {"type": "json_object"}
    deadline_at = None
    if deadline_s is not None:
        # The SDK imported and the client built before the clock starts: once per process, and
        # done at start-up by warm() in gunicorn's workers.
        client()
        deadline_at = time.monotonic() + deadline_s
    response = _create(kwargs, attempts, purpose, deadline_at)
    choice = response.choices[0] if response.choices else None
    text = (choice.message.content or "") if choice else ""
    usage = response.usage
    result = Completion(
        text=text,
        model=model,
        prompt_tokens=usage.prompt_tokens if usage else 0,
        completion_tokens=usage.completion_tokens if usage else 0,
    )
    if use_cache and text:
        _cache_set(key, {"text": text}, cache_ttl_s)
    return result


def _create(kwargs: dict[str, Any], attempts: int, purpose: str, deadline_at: float | None = None):
    """The endpoint's response, retrying transient errors with exponential backoff (all of it
    before ``deadline_at``, a ``time.monotonic()`` value, when there is one)."""
    import openai  # on first use: with the offline provider no process loads it (~25 MB with pydantic)

    delay = 0.5
    for attempt in range(1, attempts + 1):
        try:
            with _deadline(deadline_at):
                if deadline_at is not None:
                    # The pool and the SDK's own per-operation limits end by the deadline too.
                    kwargs["timeout"] = max(0.001, min(_settings_timeout(), deadline_at - time.monotonic()))
                return client().chat.completions.create(**kwargs)
        except _transient(openai) as exc:
            if deadline_at is not None and time.monotonic() >= deadline_at - 0.01:
                log.warning("LLM call passed its deadline", extra={"attempt": attempt, "purpose": purpose})
                raise LLMError(DEADLINE, "The AI provider did not answer within the deadline.", retryable=True) from exc
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
                message = f"The AI provider failed after {attempts} attempts: {type(exc).__name__}."
                raise LLMError(UNAVAILABLE, message, retryable=True) from exc
            if deadline_at is not None and time.monotonic() + delay >= deadline_at:
                message = f"The AI provider failed ({type(exc).__name__}) and the deadline leaves no time to retry."
                raise LLMError(DEADLINE, message, retryable=True) from exc
            time.sleep(delay)
            delay *= 2
        except openai.OpenAIError as exc:
            raise LLMError(REFUSED, f"The AI provider refused the request: {type(exc).__name__}.") from exc
    raise ValueError("attempts must be at least 1")


def _settings_timeout() -> float:
    return current_app.config["SETTINGS"].openai_timeout_s


def _transient(openai) -> tuple[type[Exception], ...]:
    """The SDK's errors that may pass when tried again."""
    return (openai.APIConnectionError, openai.APITimeoutError, openai.RateLimitError, openai.InternalServerError)


_WORD_PIECES = re.compile(r"\s*\S+|\s+$")  # a cached answer replayed in word-sized pieces


class Stream:
    """A streamed completion: iterate it for the text pieces. ``result`` holds the token counts
    once iteration has stopped, also when the reader stopped early (what was generated is paid
    for); a provider that sends no counts gets an estimate.

    Shares complete()'s cache: a cached answer is replayed word by word, and a stream that
    finished fills the cache."""

    def __init__(
        self,
        messages: list[dict[str, Any]],
        *,
        model: str,
        cache_scope: str | None,
        cache_ttl_s: int,
        use_cache: bool = True,
    ):
        self.messages, self.use_cache, self.cache_ttl_s = messages, use_cache, cache_ttl_s
        self.key = cache_key(model, messages, {"json": False}, cache_scope)
        self.result = Completion(text="", model=model)

    def __iter__(self) -> Iterator[str]:
        return self._pieces()

    def _pieces(self) -> Iterator[str]:
        if self.use_cache and (hit := _cache_get(self.key)):
            self.result.cached = True
            yield from _WORD_PIECES.findall(hit["text"])
            return
        pieces: list[str] = []
        import openai

        try:
            yield from self._from_endpoint(pieces)
        except openai.OpenAIError as exc:
            message = f"The AI provider failed while streaming: {type(exc).__name__}."
            raise LLMError(STREAM_FAILED, message, retryable=isinstance(exc, _transient(openai))) from exc
        finally:
            # Also when the reader went away mid-stream (GeneratorExit).
            if pieces or self.result.completion_tokens:
                if not self.result.completion_tokens:  # the provider sent no usage: estimate
                    self.result.completion_tokens = max(1, len("".join(pieces)) // 4)
                if not self.result.prompt_tokens:
                    self.result.prompt_tokens = max(1, len(json.dumps(self.messages)) // 4)
        if self.use_cache and pieces:
            _cache_set(self.key, {"text": "".join(pieces)}, self.cache_ttl_s)

    def _from_endpoint(self, pieces: list[str]) -> Iterator[str]:
        chunks = client().chat.completions.create(
            model=self.result.model,
            messages=self.messages,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
        for chunk in chunks:
            if chunk.usage:
                self.result.prompt_tokens = chunk.usage.prompt_tokens
                self.result.completion_tokens = chunk.usage.completion_tokens
            for choice in chunk.choices or []:
                piece = choice.delta.content if choice.delta else None
                if piece:
                    pieces.append(piece)
                    yield piece
