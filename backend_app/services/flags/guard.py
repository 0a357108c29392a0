"""The canary guard: rolls ``use_v2`` back by itself when v2 fails too often.

Every response served under v2 is a sample; it is an error when its status is 5xx or a v2
code path fell back to v1 (``variant.report_v2_failure()``). Samples are counted in Redis
in time buckets (``GUARD_WINDOW_S`` split into at most 60), so every web process feeds
the same sliding window (``window.py``). When, over the window, there are at least ``GUARD_MIN_SAMPLES``
samples and errors/samples exceeds ``GUARD_ERROR_RATE``, the guard rolls the flag back
(audited with actor "guard" and the numbers) and clears the window, so turning v2 on
again starts from a clean count. The guard is evaluated whenever an error is recorded:
the rate only rises when an error arrives.
"""

from __future__ import annotations

import logging
import time

from flask import current_app
from redis.exceptions import RedisError

from backend_app.extensions import redis_store
from backend_app.services.flags.changes import rollback
from backend_app.services.flags.state import USE_V2, snapshot
from backend_app.services.flags.window import PREFIX, bucket_keys, bucket_width, reset, window_counts

log = logging.getLogger(__name__)
__all__ = ["evaluate", "record", "reset", "status", "window_counts"]


def record(is_error: bool, flag_key: str = USE_V2) -> bool:
    """Count one v2 response; returns True when this sample made the guard roll the flag back."""
    settings = current_app.config["SETTINGS"]
    window = settings.guard_window_s
    key = bucket_keys(flag_key, window, time.time())[-1]
    recent_errors = f"{PREFIX}{flag_key}:recent-errors"
    try:
        pipe = redis_store.conn.pipeline(transaction=False)
        pipe.hincrby(key, "n", 1)
        if is_error:
            pipe.hincrby(key, "e", 1)
            pipe.set(recent_errors, 1, ex=window)
        pipe.expire(key, window + 2 * bucket_width(window))
        pipe.get(recent_errors)
        errors_in_window = pipe.execute()[-1]
    except RedisError:
        return False  # the guard is blind while Redis is down; serving goes on
    # Judged after every sample while the window holds an error (a success can bring it up to
    # GUARD_MIN_SAMPLES with the rate already over the line); without one it cannot trip, and
    # the check costs no extra round trip.
    return evaluate(flag_key) if errors_in_window else False


def evaluate(flag_key: str = USE_V2) -> bool:
    """Roll the flag back if the window is over the threshold; True when this call did it."""
    settings = current_app.config["SETTINGS"]
    try:
        samples, errors = window_counts(flag_key)
    except RedisError:
        return False
    if samples < settings.guard_min_samples or errors / samples <= settings.guard_error_rate:
        return False
    view = snapshot().get(flag_key)
    if view is None or not view.enabled:
        return False
    try:  # one process trips it; the others see the flag off within a fraction of a second
        if not redis_store.conn.set(f"{PREFIX}{flag_key}:tripping", "1", nx=True, ex=5):
            return False
    except RedisError:
        return False
    reason = (
        f"guard: v2 error rate {errors}/{samples} = {errors / samples:.1%} over the last "
        f"{settings.guard_window_s}s exceeded {settings.guard_error_rate:.1%} "
        f"(minimum {settings.guard_min_samples} samples)"
    )
    _, changed = rollback(flag_key, actor="guard", reason=reason, action="guard")
    reset(flag_key)
    if changed:
        log.error("canary guard rolled back", extra={"flag": flag_key, "samples": samples, "errors": errors})
    return changed


def status(flag_key: str = USE_V2) -> dict | None:
    """``{tripped_at, reason}`` while the flag stays off after the guard turned it off, else None."""
    view = snapshot().get(flag_key)
    if view is None or view.enabled or view.last_action != "guard":
        return None
    return {
        "flag": flag_key,
        "tripped_at": view.last_at.isoformat().replace("+00:00", "Z") if view.last_at else None,
        "reason": view.last_reason,
    }
