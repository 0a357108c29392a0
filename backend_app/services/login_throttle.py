"""Sign-in attempts per account: a few failures are free, then each attempt waits longer.

The per-address limit (``LOGIN_RATE_LIMIT``, flask-limiter, on the views) counts failed
sign-ins only, so a class or an office behind one address can all sign in, and an address that
sprays guesses over many accounts still meets it. This module guards one account against
guessing from many addresses: after ``LOGIN_FREE_FAILURES`` failures in a row, the next attempt
must wait ``LOGIN_BACKOFF_S`` seconds, doubling with every further failure up to
``LOGIN_BACKOFF_MAX_S``; an attempt inside the wait is answered 429 ``LOGIN_THROTTLED`` with
``Retry-After``, without looking at the password. A success clears the count; the count is
forgotten after twice the longest wait without attempts.

Accounts are keyed by a hash of the normalised email, whether the account exists or not, so the
answer (and its timing) says nothing about which emails have accounts. Each attempt is counted
as a failure before the password is checked (one atomic Lua step) and cleared on success, so a
burst of parallel guesses cannot all slip in before the first failure is written. If Redis is
unreachable the account throttle lets the attempt through (the per-address limit falls back to
memory): signing in keeps working.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from flask import current_app
from redis.exceptions import RedisError

from backend_app.errors import RateLimited
from backend_app.extensions import redis_store

log = logging.getLogger(__name__)
PREFIX = "framewise:login-failures:"

# KEYS: the account's counter; ARGV: now, free failures, first wait, longest wait, ttl.
# Returns "0" when the attempt may go ahead (and is counted), else the seconds left to wait.
_ATTEMPT = """
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
local at = tonumber(redis.call('HGET', KEYS[1], 'at') or '0')
local now = tonumber(ARGV[1])
local free = tonumber(ARGV[2])
if n >= free then
  local wait = math.min(tonumber(ARGV[4]), tonumber(ARGV[3]) * 2 ^ (n - free))
  if now < at + wait then return tostring(at + wait - now) end
end
redis.call('HSET', KEYS[1], 'n', n + 1, 'at', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return '0'
"""


def _key(email: str) -> str:
    return PREFIX + hashlib.sha256(email.encode()).hexdigest()


def attempt(email: str) -> None:
    """Count a sign-in attempt on ``email`` (normalised), or raise LOGIN_THROTTLED while it must wait."""
    settings = current_app.config["SETTINGS"]
    try:
        left = float(
            redis_store.conn.eval(
                _ATTEMPT,
                1,
                _key(email),
                time.time(),
                settings.login_free_failures,
                settings.login_backoff_s,
                settings.login_backoff_max_s,
                2 * settings.login_backoff_max_s,
            )
        )
    except RedisError:
        log.warning("login throttle unreachable: attempt let through")
        return
    if left > 0:
        wait = math.ceil(left)
        error = RateLimited(
            f"Too many failed sign-ins for this account; try again in {wait} s.",
            code="LOGIN_THROTTLED",
            details={"retry_after_s": wait},
        )
        error.headers["Retry-After"] = str(wait)
        raise error


def succeeded(email: str) -> None:
    """The attempt was right: the account's failures are forgotten."""
    try:
        redis_store.conn.delete(_key(email))
    except RedisError:
        log.warning("login throttle unreachable: failures not cleared")
