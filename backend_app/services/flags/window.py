"""The canary guard's sliding window: v2 samples and errors counted in Redis time buckets.

``GUARD_WINDOW_S`` is split into at most MAX_BUCKETS buckets, so every web process feeds the
same window. The guard (``guard.py``) counts into it and judges it; turning a flag on again
(``changes.py``) clears it, so the guard starts from a clean count.
"""

from __future__ import annotations

import logging
import math
import time

from flask import current_app
from redis.exceptions import RedisError

from backend_app.extensions import redis_store
from backend_app.services.flags.state import USE_V2

log = logging.getLogger(__name__)
PREFIX = "framewise:guard:"
MAX_BUCKETS = 60


def bucket_width(window_s: int) -> int:
    """Seconds per bucket for a window of ``window_s``."""
    return max(1, math.ceil(window_s / MAX_BUCKETS))


def bucket_keys(flag_key: str, window_s: int, now: float) -> list[str]:
    """The Redis keys of the window's buckets at ``now``, oldest first."""
    width = bucket_width(window_s)
    newest = int(now // width)
    count = math.ceil(window_s / width)
    return [f"{PREFIX}{flag_key}:{b}" for b in range(newest - count + 1, newest + 1)]


def window_counts(flag_key: str = USE_V2) -> tuple[int, int]:
    """(samples, errors) of v2 responses in the sliding window, across all processes."""
    window = current_app.config["SETTINGS"].guard_window_s
    pipe = redis_store.conn.pipeline(transaction=False)
    for key in bucket_keys(flag_key, window, time.time()):
        pipe.hmget(key, "n", "e")
    samples = errors = 0
    for n, e in pipe.execute():
        samples += int(n or 0)
        errors += int(e or 0)
    return samples, errors


def reset(flag_key: str = USE_V2) -> None:
    """Forget the window (after a rollback, or when v2 is turned on again)."""
    try:
        keys = list(redis_store.conn.scan_iter(match=f"{PREFIX}{flag_key}:*", count=200))
        if keys:
            redis_store.conn.delete(*keys)
    except RedisError:
        log.warning("could not reset the guard window")
