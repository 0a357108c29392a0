"""What the model endpoint can do and how it has been doing: shared by every process in Redis.

Capabilities (models served, JSON mode, tool calls, image input, server slots) come from the
start-up probe (``llm.probe``) and from what calls teach (a server error on a request with images
means the model has no image input). The last error and the last answer's latency are kept for
/health and the admin health page. Everything here is advice: a Redis that does not answer
leaves the calls to find out for themselves.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from flask import current_app
from redis.exceptions import RedisError

from backend_app.extensions import redis_store

STATUS_PREFIX = "framewise:llm:status:"
STATUS_TTL_S = 7 * 24 * 3600


def _key() -> str:
    """One record per endpoint and model: a changed OPENAI_BASE_URL or OPENAI_MODEL starts afresh."""
    settings = current_app.config["SETTINGS"]
    endpoint = f"{settings.openai_base_url or 'api.openai.com'}|{settings.openai_model}"
    return STATUS_PREFIX + hashlib.sha256(endpoint.encode()).hexdigest()[:16]


def _set(**fields: Any) -> None:
    try:
        pipe = redis_store.conn.pipeline()
        pipe.hset(_key(), mapping={k: json.dumps(v) for k, v in fields.items()})
        pipe.expire(_key(), STATUS_TTL_S)
        pipe.execute()
    except RedisError:
        pass


def status() -> dict[str, Any]:
    """Everything known: capabilities, ``latency_ms``, ``last_error`` (code, message, at)…"""
    try:
        raw = redis_store.conn.hgetall(_key())
    except RedisError:
        return {}
    return {
        (k.decode() if isinstance(k, bytes) else k): json.loads(v.decode() if isinstance(v, bytes) else v)
        for k, v in raw.items()
    }


def learn(**capabilities: Any) -> None:
    """Record capabilities (vision=False, json_mode=True, slots=1, models=[...])."""
    _set(**capabilities)


def answered(latency_s: float) -> None:
    _set(latency_ms=round(latency_s * 1000, 1), reachable=True, answered_at=time.time())


def failed(code: str, message: str) -> None:
    _set(last_error={"code": code, "message": message, "at": time.time()})


def can_read_images() -> bool:
    """False only when the endpoint said so (probe or a refused image); unknown counts as yes."""
    return status().get("vision") is not False


def forget() -> None:
    """Drop what is known (tests; a changed endpoint)."""
    try:
        redis_store.conn.delete(_key())
    except RedisError:
        pass
