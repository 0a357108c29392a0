"""The LLM adapter: any OpenAI-compatible Chat Completions endpoint, with a Redis answer cache.

It speaks the endpoint's language only: messages in, text and token counts out, retries with
backoff on transient errors, and its own coded ``LLMError``. Whose budget a call spends, what
it costs and the usage row it leaves are policy, in ``services/ai.py``.

Every call is bounded, because a small model left to itself loops until its context is full:
``max_tokens`` per use, one total deadline per call (retries, back-off and the wait for a slot
included, each attempt's timeout cut to what is left of it), calls in flight limited across
processes (``llm_slots``), and streams stopped when they repeat themselves (``looping``). Every
call's outcome (``OUTCOMES``) comes back with its tokens, also from a failure (``LLMError.call``),
so that usage records what the endpoint was made to work, not only what answered.

The deadline is a total one, not the SDK's per-read timeout (a server that trickles its answer a
byte at a time never trips that): the client's connections are made by ``DeadlineBackend``, whose
every socket operation gets at most the time left before the current call's deadline; past it the
operation fails, the HTTP layer closes the connection, and the call raises ``LLMError(DEADLINE)``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import import_module
from typing import TYPE_CHECKING, Any

from flask import current_app
from redis.exceptions import RedisError

from backend_app.adapters import llm_caps
from backend_app.adapters.llm_slots import SLOTS, SlotTimeout
from backend_app.extensions import redis_store

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)
CACHE_PREFIX = "framewise:llm:"

# LLMError codes: the endpoint kept failing in a way that may pass (connection, rate limit, 5xx),
# it refused the request, the call's deadline passed, the model cannot read the images it was
# sent, or a stream broke off.
UNAVAILABLE, REFUSED, DEADLINE = "PROVIDER_UNAVAILABLE", "PROVIDER_REFUSED", "PROVIDER_DEADLINE"
TIMED_OUT = DEADLINE
NO_IMAGES, STREAM_FAILED = "MODEL_CANNOT_READ_IMAGES", "STREAM_FAILED"
NO_TOOLS = "MODEL_CANNOT_CALL_TOOLS"  # the endpoint refused a request that offered tools

# What became of a call: answered; answered but not usable (the caller's check); cut at max_tokens;
# stopped repeating itself; out of time; left by its reader; failed.
OUTCOMES = ("ok", "invalid", "truncated", "loop", "timeout", "aborted", "failed")
LOOP_NGRAM, LOOP_REPEATS, LOOP_WINDOW = 6, 3, 200  # six words seen three times in the last 200: a loop
_DEADLINE_AT: ContextVar[float | None] = ContextVar("llm_deadline_at", default=None)
DEADLINE_MARGIN_S = 0.05  # an attempt that ends this close to the deadline ran into it


@dataclass
class Completion:
    """One answer: its text, the tokens the endpoint counted (estimated where it sent none; none
    for a cached answer) and its outcome (``OUTCOMES``)."""

    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False
    outcome: str = "ok"
    # The assistant's function calls, when it was offered ``tools``: [{id, name, arguments}],
    # ``arguments`` the model's JSON text as sent (the caller parses and checks it).
    tool_calls: list[dict[str, str]] = field(default_factory=list)


class LLMError(Exception):
    """The endpoint did not answer usefully; ``retryable`` when trying later may help. ``call``
    is what the failed call cost (estimated tokens), for usage."""

    def __init__(self, code: str, message: str, *, retryable: bool = False, call: Completion | None = None):
        super().__init__(message)
        self.code, self.message, self.retryable, self.call = code, message, retryable, call


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
def _deadline_scope(deadline_at: float | None):
    """The block's connections keep ``deadline_at`` (a ``time.monotonic()`` value)."""
    token = _DEADLINE_AT.set(deadline_at)
    try:
        yield
    finally:
        try:
            _DEADLINE_AT.reset(token)
        except ValueError:  # a stream's generator closed from another context: nothing to restore
            pass


PROBE_TOOL = {
    "type": "function",
    "function": {"name": "ping", "description": "Answer ping.", "parameters": {"type": "object", "properties": {}}},
}


def probe(*, full: bool = True, timeout_s: float = 5.0) -> dict[str, Any]:
    """Ask the endpoint what it serves and record it (``llm_caps``): reachable, latency and the
    models listed; with ``full``, also the server's slots and image input (llama.cpp's /props,
    where there is one) and whether JSON mode and tool calls are accepted (one-token calls)."""
    import openai

    settings = current_app.config["SETTINGS"]
    api = client().with_options(timeout=timeout_s, max_retries=0)
    found: dict[str, Any] = {"model": settings.openai_model, "probed_at": time.time()}
    started = time.monotonic()
    try:
        listed = list(api.models.list())
        found["models"] = [m.id for m in listed][:50]
        found |= _listed_capabilities(listed, settings.openai_model)
    except openai.OpenAIError as exc:
        found["reachable"] = False
        llm_caps.learn(**found)
        llm_caps.failed(UNAVAILABLE, f"The model endpoint did not answer: {type(exc).__name__}.")
        return llm_caps.status()
    found |= {"reachable": True, "latency_ms": round((time.monotonic() - started) * 1000, 1)}
    if full:
        found |= _server_props(str(api.base_url), timeout_s)
        for name, extra in (
            ("json_mode", {"response_format": {"type": "json_object"}}),
            ("tools", {"tools": [PROBE_TOOL]}),
        ):
            try:
                api.chat.completions.create(
                    model=settings.openai_model,
                    messages=[{"role": "user", "content": "Answer with {}"}],
                    max_tokens=1,
                    **extra,
                )
                found[name] = True
            except openai.APIStatusError:
                found[name] = False
            except openai.OpenAIError:
                pass  # timed out or dropped: unknown, not "unsupported"
    llm_caps.learn(**found)
    return llm_caps.status()


def _listed_capabilities(listed: list, model: str) -> dict[str, Any]:
    """Image input from the model list, where the server says (llama.cpp lists each model's
    ``capabilities``: ``completion`` alone for a text-only model, ``multimodal`` with images)."""
    entry = next((m for m in listed if m.id == model), listed[0] if len(listed) == 1 else None)
    capabilities = (getattr(entry, "model_extra", None) or {}).get("capabilities") if entry else None
    if not isinstance(capabilities, list):
        return {}
    return {"vision": any(c in capabilities for c in ("multimodal", "vision", "image"))}


def _server_props(base_url: str, timeout_s: float) -> dict[str, Any]:
    """llama.cpp's server describes itself at /props: its slots and whether it reads images."""
    root = base_url.rstrip("/").removesuffix("/v1")
    try:
        with urllib.request.urlopen(f"{root}/props", timeout=timeout_s) as response:
            props = json.loads(response.read())
    except (OSError, ValueError):  # URLError and HTTPError are OSErrors: no /props, not llama.cpp
        return {}
    if not isinstance(props, dict):
        return {}
    found: dict[str, Any] = {}
    if isinstance(props.get("total_slots"), int) and props["total_slots"] > 0:
        found["slots"] = props["total_slots"]
    modalities = props.get("modalities")
    if isinstance(modalities, dict) and isinstance(modalities.get("vision"), bool):
        found["vision"] = modalities["vision"]
    return found


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
    max_tokens: int,
    deadline_s: float | None = None,
    purpose: str = "",
    json_mode: bool = False,
    attempts: int = 3,
    use_cache: bool = True,
    cache_if: Callable[[str], bool] | None = None,
    before_call: Callable[[], None] | None = None,
    stop: list[str] | None = None,
    tools: list[dict[str, Any]] | None = None,
) -> Completion:
    """One chat completion: the scope's cache, then the endpoint with retries and backoff, all
    within ``deadline_s`` (LLM_DEADLINE_S when None).

    Only a whole answer is cached, and only one ``cache_if`` accepts (an answer the caller cannot
    use must not be replayed for a day); one it refuses has the outcome ``invalid``.
    ``before_call`` runs only when the endpoint is about to be called (a cache hit skips it: the
    budget check). ``purpose`` labels the log lines of failed attempts.

    ``tools`` (Chat Completions function definitions) lets the model answer with function calls
    (``Completion.tool_calls``) instead of text; a request with tools that the endpoint refuses
    (400/422) raises ``NO_TOOLS`` and records that the model has none."""
    extra: dict[str, Any] = {"json": json_mode} | ({"tools": tools} if tools else {})
    key = cache_key(model, messages, extra, cache_scope)
    if use_cache and (hit := _cache_get(key)):
        return Completion(text=hit["text"], model=model, cached=True, tool_calls=hit.get("tool_calls") or [])
    if before_call is not None:
        before_call()
    client()  # the SDK imported and the client built before the clock starts: once per process
    kwargs: dict[str, Any] = {"model": model, "messages": messages, "temperature": 0, "max_tokens": max_tokens}
    if stop:
        kwargs["stop"] = stop
    if json_mode:
        kwargs["response_format"] = {"type": "json_object"}
    if tools:
        kwargs["tools"] = tools
    response = _create(kwargs, attempts, purpose, _deadline(deadline_s))
    choice = response.choices[0] if response.choices else None
    text = (choice.message.content or "") if choice else ""
    calls = _tool_calls(choice.message) if choice and tools else []
    usage = response.usage
    result = Completion(
        text=text,
        model=model,
        prompt_tokens=usage.prompt_tokens if usage else estimate_tokens(messages),
        completion_tokens=usage.completion_tokens if usage else estimate_tokens(text),
        outcome="truncated" if choice is not None and choice.finish_reason == "length" else "ok",
        tool_calls=calls,
    )
    if result.outcome == "ok" and not calls and cache_if is not None and not cache_if(text):
        result.outcome = "invalid"
    if use_cache and (text or calls) and result.outcome == "ok":
        _cache_set(key, {"text": text, "tool_calls": calls}, cache_ttl_s)
    return result


def _tool_calls(message) -> list[dict[str, str]]:
    """The message's function calls as plain dicts (a call without a name is dropped)."""
    calls = []
    for n, call in enumerate(getattr(message, "tool_calls", None) or []):
        function = getattr(call, "function", None)
        if function is None or not getattr(function, "name", None):
            continue
        calls.append(
            {"id": call.id or f"call_{n}", "name": str(function.name), "arguments": str(function.arguments or "")}
        )
    return calls


def estimate_tokens(content: Any) -> int:
    """About four characters a token, for a provider that sends no counts."""
    return max(1, len(content if isinstance(content, str) else json.dumps(content)) // 4)


def _deadline(deadline_s: float | None) -> float:
    """The monotonic time a call must be done by; sets the slots' ceiling for it (LLM_MAX_CONCURRENCY,
    or the server's slots when the probe found fewer)."""
    settings = current_app.config["SETTINGS"]
    ceiling = min(settings.llm_max_concurrency, llm_caps.status().get("slots") or settings.llm_max_concurrency)
    if ceiling != SLOTS.ceiling:
        SLOTS.configure(ceiling)
    return time.monotonic() + (deadline_s or settings.llm_deadline_s)


def _has_images(messages: list[dict[str, Any]]) -> bool:
    return any(
        isinstance(m.get("content"), list) and any(p.get("type") == "image_url" for p in m["content"]) for m in messages
    )


def _create(kwargs: dict[str, Any], attempts: int, purpose: str, deadline: float):
    """The endpoint's response, retrying what may pass (connection, 429 after its Retry-After,
    5xx) with exponential backoff, all before ``deadline``; a refusal, and a server error on a
    request with images to a model that has none, are not tried again."""
    import openai  # on first use: with the offline provider no process loads it (~25 MB with pydantic)

    delay, images, tools = 0.5, _has_images(kwargs["messages"]), bool(kwargs.get("tools"))
    spent = Completion(text="", model=kwargs["model"], prompt_tokens=0, outcome="failed")
    for attempt in range(1, attempts + 1):
        started = time.monotonic()
        try:
            with SLOTS.slot(deadline), _deadline_scope(deadline):
                timeout = min(current_app.config["SETTINGS"].openai_timeout_s, deadline - time.monotonic())
                if timeout <= 0:
                    raise SlotTimeout
                response = client().with_options(timeout=timeout).chat.completions.create(**kwargs)
            SLOTS.answered()
            llm_caps.answered(time.monotonic() - started)
            return response
        except SlotTimeout:
            spent.outcome = "timeout"
            raise _failed(TIMED_OUT, "The AI provider did not answer within the deadline.", True, spent) from None
        except openai.APITimeoutError as exc:
            # The server worked until we gave up (and a small one may still be at it): count it.
            # Only an attempt's own timeout says the server is overloaded; the caller's deadline
            # (a 2 s budget, say) says nothing about it.
            if time.monotonic() < deadline - DEADLINE_MARGIN_S:
                SLOTS.timed_out()
            spent.prompt_tokens += estimate_tokens(kwargs["messages"])
            spent.completion_tokens += kwargs["max_tokens"]
            spent.outcome, failure = "timeout", exc
        except (openai.APIConnectionError, openai.InternalServerError, openai.RateLimitError) as exc:
            status = getattr(exc, "status_code", None)
            if images and status not in (None, 429) and _refuses_images(exc):
                llm_caps.learn(vision=False)
                raise _failed(NO_IMAGES, "This model cannot read images.", False, spent) from exc
            if status in (501, 505):
                raise _failed(
                    REFUSED, f"The AI provider cannot serve this request (HTTP {status}).", False, spent
                ) from exc
            failure = exc
        except openai.OpenAIError as exc:
            if images and getattr(exc, "status_code", None) in (400, 415, 422) and _refuses_images(exc):
                llm_caps.learn(vision=False)
                raise _failed(NO_IMAGES, "This model cannot read images.", False, spent) from exc
            if tools and getattr(exc, "status_code", None) in (400, 422):
                llm_caps.learn(tools=False)
                raise _failed(NO_TOOLS, "This model endpoint does not accept tools.", False, spent) from exc
            raise _failed(REFUSED, f"The AI provider refused the request: {type(exc).__name__}.", False, spent) from exc
        # The exception's kind and status only: its text is the provider's body, which can echo
        # the request (requirement text, which is never stored, logs included).
        log.warning(
            "LLM call failed",
            extra={
                "attempt": attempt,
                "error": type(failure).__name__,
                "status": getattr(failure, "status_code", None),
                "purpose": purpose,
            },
        )
        wait = _retry_after(failure) or delay
        if attempt == attempts or time.monotonic() + wait >= deadline:
            timed_out = spent.outcome == "timeout" or time.monotonic() + wait >= deadline
            code = TIMED_OUT if timed_out else UNAVAILABLE
            message = f"The AI provider failed after {attempt} attempts: {type(failure).__name__}."
            raise _failed(code, message, True, spent) from failure
        time.sleep(wait)
        delay *= 2
    raise ValueError("attempts must be at least 1")


IMAGE_WORDS = ("image", "vision", "multimodal", "mmproj")


def _refuses_images(exc: Exception) -> bool:
    """Whether an error answer to a request with images says the model takes none (llama.cpp: 500
    "image input is not supported - hint: … mmproj"); any other error stays what it is, so a
    passing 500 of a model that reads images does not switch its pictures off."""
    return any(word in str(exc).lower() for word in IMAGE_WORDS)


def _failed(code: str, message: str, retryable: bool, spent: Completion) -> LLMError:
    llm_caps.failed(code, message)
    return LLMError(code, message, retryable=retryable, call=spent)


def _retry_after(exc: Exception) -> float | None:
    """A 429's Retry-After in seconds (at most a minute), when it sent one."""
    response = getattr(exc, "response", None)
    raw = response.headers.get("retry-after") if response is not None else None
    try:
        return min(60.0, max(0.0, float(raw))) if raw else None
    except ValueError:
        return None


def _transient(openai) -> tuple[type[Exception], ...]:
    """The SDK's errors that may pass when tried again."""
    return (openai.APIConnectionError, openai.APITimeoutError, openai.RateLimitError, openai.InternalServerError)


def without_loop(text: str) -> str:
    """``text`` up to the second copy of the run it repeats (all of it when it does not loop)."""
    words = list(re.finditer(r"\S+", text))
    cut = looping([w.group() for w in words])
    return text if cut is None else text[: words[cut].start()].rstrip() + " …"


def looping(words: list[str]) -> int | None:
    """Where a stream started repeating itself: the index of the word that begins the second
    copy of a LOOP_NGRAM-word run seen LOOP_REPEATS times in the last LOOP_WINDOW words."""
    start = max(0, len(words) - LOOP_WINDOW)
    seen: dict[tuple[str, ...], list[int]] = {}
    for i in range(start, len(words) - LOOP_NGRAM + 1):
        gram = tuple(w.lower() for w in words[i : i + LOOP_NGRAM])
        places = seen.setdefault(gram, [])
        if places and i - places[-1] < LOOP_NGRAM:
            continue  # overlapping copies ("a a a a a a a") count once per n words
        places.append(i)
        if len(places) >= LOOP_REPEATS:
            return places[1]
    return None


_WORD_PIECES = re.compile(r"\s*\S+|\s+$")  # a cached answer replayed in word-sized pieces


class Stream:
    """A streamed completion: iterate it for the text pieces. ``result`` holds the token counts
    once iteration has stopped, also when the reader stopped early (what was generated is paid
    for); a provider that sends no counts gets an estimate.

    Shares complete()'s cache: a cached answer is replayed word by word, and a stream that
    finished fills the cache. With ``tools``, the function calls the model streams are gathered
    into ``result.tool_calls`` (the text pieces, if any, still pass as they come)."""

    def __init__(
        self,
        messages: list[dict[str, Any]],
        *,
        model: str,
        cache_scope: str | None,
        cache_ttl_s: int,
        max_tokens: int,
        deadline_s: float | None = None,
        use_cache: bool = True,
        before_call: Callable[[], None] | None = None,
        stop: list[str] | None = None,
        tools: list[dict[str, Any]] | None = None,
    ):
        self.messages, self.use_cache, self.cache_ttl_s = messages, use_cache, cache_ttl_s
        self.max_tokens, self.deadline_s, self.before_call, self.stop = max_tokens, deadline_s, before_call, stop
        self.tools = tools
        self.key = cache_key(model, messages, {"json": False} | ({"tools": tools} if tools else {}), cache_scope)
        self.result = Completion(text="", model=model)

    def __iter__(self) -> Iterator[str]:
        return self._pieces()

    def _pieces(self) -> Iterator[str]:
        if self.use_cache and (hit := _cache_get(self.key)):
            self.result.cached = True
            self.result.text = hit["text"]
            self.result.tool_calls = hit.get("tool_calls") or []
            yield from _WORD_PIECES.findall(hit["text"])
            return
        if self.before_call is not None:
            self.before_call()
        pieces: list[str] = []
        import openai

        self.result.outcome = "aborted"  # until the stream ends on its own
        deadline = _deadline(self.deadline_s)
        try:
            yield from self._from_endpoint(pieces, deadline)
        except LLMError:
            self.result.outcome = "failed"
            raise
        except SlotTimeout:
            self.result.outcome = "timeout"
            raise _failed(TIMED_OUT, "No model slot came free within the deadline.", True, self.result) from None
        except openai.OpenAIError as exc:
            timed_out = isinstance(exc, openai.APITimeoutError)
            self.result.outcome = "timeout" if timed_out else "failed"
            if self.tools and getattr(exc, "status_code", None) in (400, 422):
                llm_caps.learn(tools=False)
                raise _failed(NO_TOOLS, "This model endpoint does not accept tools.", False, self.result) from exc
            if not (timed_out and pieces and time.monotonic() >= deadline - DEADLINE_MARGIN_S):
                message = f"The AI provider failed while streaming: {type(exc).__name__}."
                retryable = isinstance(exc, _transient(openai))
                raise _failed(STREAM_FAILED, message, retryable, self.result) from exc
            # else: the deadline cut a read mid-answer; what arrived is kept, marked "timeout"
        finally:
            # Also when the reader went away mid-stream (GeneratorExit): what was generated is paid for.
            self.result.text = "".join(pieces)
            if (pieces or self.result.tool_calls) and not self.result.completion_tokens:  # no usage sent: estimate
                self.result.completion_tokens = estimate_tokens(self.result.text + json.dumps(self.result.tool_calls))
            if not self.result.prompt_tokens and (pieces or self.result.outcome != "failed"):
                self.result.prompt_tokens = estimate_tokens(self.messages)
        if self.use_cache and (pieces or self.result.tool_calls) and self.result.outcome == "ok":
            _cache_set(self.key, {"text": self.result.text, "tool_calls": self.result.tool_calls}, self.cache_ttl_s)

    def _from_endpoint(self, pieces: list[str], deadline: float) -> Iterator[str]:
        """The endpoint's pieces, until it stops, the deadline passes or the text loops; the
        response is closed on every way out, so the server stops generating."""
        with SLOTS.slot(deadline), _deadline_scope(deadline):
            timeout = min(current_app.config["SETTINGS"].openai_timeout_s, max(0.1, deadline - time.monotonic()))
            chunks = (
                client()
                .with_options(timeout=timeout)
                .chat.completions.create(
                    model=self.result.model,
                    messages=self.messages,
                    temperature=0,
                    max_tokens=self.max_tokens,
                    **({"stop": self.stop} if self.stop else {}),
                    stream=True,
                    stream_options={"include_usage": True},
                    **({"tools": self.tools} if self.tools else {}),
                )
            )
            finish, calls = None, {}
            try:
                for chunk in chunks:
                    if chunk.usage:
                        self.result.prompt_tokens = chunk.usage.prompt_tokens
                        self.result.completion_tokens = chunk.usage.completion_tokens
                    for choice in chunk.choices or []:
                        finish = choice.finish_reason or finish
                        if choice.finish_reason == "length":
                            self.result.outcome = "truncated"
                        for delta in (choice.delta.tool_calls if choice.delta else None) or []:
                            _gather(calls, delta)
                        piece = choice.delta.content if choice.delta else None
                        if piece:
                            pieces.append(piece)
                            yield piece
                    if time.monotonic() >= deadline:
                        self.result.outcome = "timeout"
                        return
                    if pieces and looping("".join(pieces)[-4 * LOOP_WINDOW * 8 :].split()) is not None:
                        self.result.outcome = "loop"
                        return
                self.result.tool_calls = [c for _, c in sorted(calls.items()) if c["name"]]
                if finish is None:  # the connection closed before the model said it was done
                    raise _failed(STREAM_FAILED, "The AI provider's stream broke off.", True, self.result)
                if self.result.outcome == "aborted":
                    self.result.outcome = "ok"
            finally:
                chunks.close()
        SLOTS.answered()


def _gather(calls: dict[int, dict[str, str]], delta) -> None:
    """One streamed piece of a function call into ``calls`` (by its index): the id and name come
    once, the arguments' JSON text in pieces."""
    index = delta.index if isinstance(getattr(delta, "index", None), int) else len(calls)
    call = calls.setdefault(index, {"id": f"call_{index}", "name": "", "arguments": ""})
    if getattr(delta, "id", None):
        call["id"] = delta.id
    function = getattr(delta, "function", None)
    if function is not None:
        call["name"] += function.name or ""
        call["arguments"] += function.arguments or ""
