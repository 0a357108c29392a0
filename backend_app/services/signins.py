"""Sign-ins as token families: refresh rotation with reuse detection (OWASP, RFC 6819 5.2.2.3).

A sign-in (one login) starts a family: a random id carried as the ``fam`` claim by every access
and refresh token descended from it. Redis keeps one hash per family (``framewise:family:<id>``:
its current refresh token id, the one that token replaced and when, and ``ended`` once it is
over) with a TTL of the refresh lifetime, renewed by each rotation and by its end, so an ended
family's mark outlives every token of it.

- Refresh rotates: the presented refresh token must be the family's current one; a Lua
  compare-and-set replaces it, so it can never be exchanged again.
- Reuse: a refresh token that is no longer the current one (it was rotated away) is a replay:
  a stolen copy, or the victim after the thief rotated. The whole family ends (both parties are
  signed out) and the answer is ``TOKEN_REUSED``.
- Pages present the refresh cookie with every request and rotate it when the access cookie
  has run out. A browser sends several requests at once with the same cookies (a page and its
  htmx polls, two tabs); all but one lose the rotation. So for cookies a refresh token replaced
  less than ``REFRESH_REUSE_GRACE_S`` ago still signs in its user for that request (it cannot
  be exchanged again, and the request changes no cookie); after the window it is a replay like
  any other. The API has no window: an API client sends its refresh token once and keeps the
  answer.
- Logout ends its family; "sign out everywhere" ends every family of the user (a sorted set per
  user, scored by expiry, lists them); erasing an account does too.
- A family Redis does not hold while its token is unexpired was lost with Redis's data (a restart
  without persistence; ``make run``'s Redis persists): its tokens are accepted and the next
  rotation records the family again, so losing Redis does not sign everybody out. What was ended
  before the loss is forgotten with it, as the revocation list was before families.

Cost per request: one HMGET of the family hash, memoised per request (the revocation list's
EXISTS did as much before). Access tokens without a family (made by tools with
``create_access_token``) are checked against the per-token revocation list instead; refresh
tokens without a family are refused, so every sign-in that can outlive 15 minutes is a family.
"""

from __future__ import annotations

import logging
import time
import uuid

from flask import current_app, has_request_context
from flask_jwt_extended import create_access_token, create_refresh_token
from redis.exceptions import RedisError

from backend_app.errors import Unauthorized
from backend_app.extensions import redis_store, request_memo

log = logging.getLogger(__name__)
FAMILY_PREFIX = "framewise:family:"
USER_FAMILIES_PREFIX = "framewise:families:"
REVOKED_PREFIX = "framewise:revoked:"
ENDED = object()  # a family that is over (signed out, signed out everywhere)
REPLAYED = object()  # a family this request ended because of a replay (every later check says so)
UNKNOWN = object()  # a family Redis does not hold: lost with its data (see the module's docstring)
UNREACHABLE = object()  # Redis did not answer about this family in this request: asked once, not again

# KEYS: family, user's families; ARGV: presented jti, new jti, now, ttl, grace seconds, family id.
# 1 rotated (or a family Redis had lost, recorded again); 0 the family has ended; 2 a concurrent
# duplicate inside the grace window; -1 a replay (the family ends here, in the same atomic step).
_ROTATE = """
local state = redis.call('HMGET', KEYS[1], 'current', 'prev', 'rotated_at', 'ended')
if state[4] then return 0 end
if not state[1] or state[1] == ARGV[1] then
  redis.call('HSET', KEYS[1], 'current', ARGV[2], 'prev', ARGV[1], 'rotated_at', ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  if not state[1] then redis.call('ZADD', KEYS[2], tonumber(ARGV[3]) + tonumber(ARGV[4]), ARGV[6]) end
  return 1
end
if state[2] == ARGV[1] and tonumber(ARGV[3]) - tonumber(state[3] or '0') <= tonumber(ARGV[5]) then return 2 end
redis.call('HSET', KEYS[1], 'ended', 'replay')
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('ZREM', KEYS[2], ARGV[6])
return -1
"""


def _refresh_ttl() -> int:
    return max(int(current_app.config["JWT_REFRESH_TOKEN_EXPIRES"].total_seconds()), 1)


def _grace_s() -> int:
    return current_app.config["SETTINGS"].refresh_reuse_grace_s


def _tokens(user_id: str, role: str, family: str, refresh_jti: str, csrf: str) -> dict[str, str]:
    claims = {"role": role, "fam": family}
    return {
        "access_token": create_access_token(identity=user_id, additional_claims=claims),
        # The CSRF value stays the family's: pages echo it, and open forms must not go stale.
        "refresh_token": create_refresh_token(
            identity=user_id, additional_claims={**claims, "jti": refresh_jti, "csrf": csrf}
        ),
    }


def start(user_id: str, role: str) -> dict[str, str]:
    """A new sign-in: a new family, and its first access and refresh tokens."""
    family, jti = uuid.uuid4().hex, str(uuid.uuid4())
    ttl = _refresh_ttl()
    now = time.time()
    members = USER_FAMILIES_PREFIX + user_id
    pipe = redis_store.conn.pipeline(transaction=True)
    pipe.hset(FAMILY_PREFIX + family, mapping={"current": jti, "prev": "", "rotated_at": 0})
    pipe.expire(FAMILY_PREFIX + family, ttl)
    pipe.zremrangebyscore(members, "-inf", now)  # families that expired on their own
    pipe.zadd(members, {family: now + ttl})
    pipe.expire(members, ttl)
    pipe.execute()
    return _tokens(user_id, role, family, jti, str(uuid.uuid4()))


def rotate(claims: dict, *, cookie: bool = False) -> dict[str, str] | None:
    """New access and refresh tokens for a verified refresh token, which is used up.

    Raises TOKEN_REUSED (and ends the family) when the token was already used; None when it is a
    page's concurrent duplicate inside the grace window (``cookie``): serve it, change no cookie.
    """
    family = claims.get("fam")
    if not family:
        raise Unauthorized("This sign-in has ended; sign in again.", code="TOKEN_REVOKED")
    new_jti = str(uuid.uuid4())
    outcome = redis_store.conn.eval(
        _ROTATE,
        2,
        FAMILY_PREFIX + family,
        USER_FAMILIES_PREFIX + claims["sub"],
        claims["jti"],
        new_jti,
        time.time(),
        _refresh_ttl(),
        _grace_s() if cookie else -1,
        family,
    )
    # This request keeps its view of the token (a second check in it is no replay); an ended
    # family is ended for the rest of the request too.
    if outcome in (0, -1):
        _memo()[family] = ENDED if outcome == 0 else REPLAYED
    if outcome == 1:
        return _tokens(claims["sub"], claims.get("role", "user"), family, new_jti, claims.get("csrf", ""))
    if outcome == 2:
        return None
    if outcome == -1:
        log.warning("refresh token reused: sign-in ended", extra={"user_id": claims["sub"]})
        raise reused()
    raise Unauthorized("This sign-in has ended; sign in again.", code="TOKEN_REVOKED")


def reused() -> Unauthorized:
    return Unauthorized(
        "This refresh token was already used, so this sign-in was ended on every device that shared it; sign in again.",
        code="TOKEN_REUSED",
    )


def _memo() -> dict:
    return request_memo("families") if has_request_context() else {}


def _family(family: str) -> dict | object:
    """The family's state (current, prev, rotated_at), ENDED or UNKNOWN; read once per request."""
    memo = _memo()
    if family not in memo:
        current, prev, at, ended = redis_store.conn.hmget(
            FAMILY_PREFIX + family, "current", "prev", "rotated_at", "ended"
        )
        if ended is not None:
            memo[family] = ENDED
        elif current is None:
            memo[family] = UNKNOWN
        else:
            memo[family] = {"current": current.decode(), "prev": (prev or b"").decode(), "at": float(at or 0)}
    return memo[family]


def refusal(claims: dict, *, cookie: bool = False) -> str | None:
    """Why a verified token signs nobody in (``TOKEN_REVOKED``, ``TOKEN_REUSED``), or None.

    A refresh token that was rotated away is a replay: its family ends here (see the module's
    docstring for the window ``cookie`` allows). If Redis cannot be reached, refresh tokens are
    refused (fail closed) while short-lived access tokens are accepted, so a Redis blip does not
    sign everybody out.
    """
    kind = claims.get("type", "access")
    family = claims.get("fam")
    try:
        if not family:
            if kind == "refresh":
                return "TOKEN_REVOKED"
            return "TOKEN_REVOKED" if _jti_revoked(claims["jti"]) else None
        state = _family(family)
        if state is UNREACHABLE:
            return "TOKEN_REVOKED" if kind == "refresh" else None
        if state is ENDED or state is REPLAYED:
            return "TOKEN_REVOKED" if state is ENDED else "TOKEN_REUSED"
        if state is UNKNOWN or kind != "refresh" or claims["jti"] == state["current"]:
            return None
        if cookie and claims["jti"] == state["prev"] and time.time() - state["at"] <= _grace_s():
            return None
        log.warning("refresh token reused: sign-in ended", extra={"user_id": claims.get("sub")})
        end_family(family, claims.get("sub", ""))
        _memo()[family] = REPLAYED
        return "TOKEN_REUSED"
    except RedisError:
        # The canary and the view both ask: remember the failure, so a down Redis costs the
        # request one timeout and one warning, not one each.
        if family:
            _memo()[family] = UNREACHABLE
        elif has_request_context():
            request_memo("revocation_checks")[claims["jti"]] = False  # only access tokens get here
        log.warning("sign-in families unreachable", extra={"token_type": kind})
        return "TOKEN_REVOKED" if kind == "refresh" else None


def _jti_revoked(jti: str) -> bool:
    memo = request_memo("revocation_checks") if has_request_context() else {}
    if jti not in memo:
        memo[jti] = bool(redis_store.conn.exists(REVOKED_PREFIX + jti))
    return memo[jti]


def end_family(family: str, user_id: str) -> None:
    """End one sign-in: every token of the family is refused from now on."""
    pipe = redis_store.conn.pipeline(transaction=True)
    _mark_ended(pipe, family)
    pipe.zrem(USER_FAMILIES_PREFIX + user_id, family)
    pipe.execute()
    _memo()[family] = ENDED


def _mark_ended(pipe, family: str) -> None:
    pipe.hset(FAMILY_PREFIX + family, "ended", "1")
    pipe.expire(FAMILY_PREFIX + family, _refresh_ttl())  # outlives every token of the family


def end(claims: dict) -> None:
    """End the sign-in a token belongs to (logout); a token without a family is revoked alone."""
    if claims.get("fam"):
        end_family(claims["fam"], claims["sub"])
        return
    ttl = current_app.config[
        "JWT_REFRESH_TOKEN_EXPIRES" if claims.get("type") == "refresh" else "JWT_ACCESS_TOKEN_EXPIRES"
    ]
    redis_store.conn.set(REVOKED_PREFIX + claims["jti"], "1", ex=max(int(ttl.total_seconds()), 1))
    if has_request_context():
        request_memo("revocation_checks")[claims["jti"]] = True


def end_all(user_id: str) -> int:
    """Sign out everywhere: end every family of the user; returns how many sign-ins were live."""
    members = USER_FAMILIES_PREFIX + user_id
    listed = redis_store.conn.zrange(members, 0, -1, withscores=True)
    if not listed:
        return 0
    now = time.time()
    families = [family.decode() for family, _ in listed]
    pipe = redis_store.conn.pipeline(transaction=True)
    for family in families:
        pipe.hsetnx(FAMILY_PREFIX + family, "ended", "1")  # 1 when it was not over already
        pipe.expire(FAMILY_PREFIX + family, _refresh_ttl())  # outlives every token of the family
    pipe.zrem(members, *families)  # not the whole set: a sign-in started meanwhile stays listed
    fresh = pipe.execute()[0:-1:2]
    ended = sum(1 for (_, expires), was_live in zip(listed, fresh, strict=True) if was_live and expires > now)
    memo = _memo()
    for family in families:
        memo[family] = ENDED
    log.info("signed out everywhere", extra={"user_id": user_id, "sign_ins": ended})
    return ended
