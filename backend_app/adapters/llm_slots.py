"""How many model calls are in flight at once, across the threads of a process and across processes.

A small model server has a fixed number of slots (llama.cpp: often one). Calls beyond them wait
in its queue while the client's clock runs, so a batch with four threads against one slot turns
queueing into timeouts, and a timeout the client gives up on keeps the slot busy. So calls wait
for a slot here instead, where the wait is bounded by the call's own deadline:

- in a process, threads share a counter under a condition (``Slots``);
- across processes (web workers, RQ work horses), a Redis sorted set holds a lease per call in
  flight, scored by when it lapses, so a killed process frees its slots after ``LEASE_S``;
- the limit adapts: a timeout halves it (down to one), every ``RAISE_AFTER`` answers in time
  raise it by one, up to LLM_MAX_CONCURRENCY or the slots the server says it has.
Without Redis the process's own counter still holds.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from redis.exceptions import RedisError

from backend_app.extensions import redis_store

log = logging.getLogger(__name__)
LEASES_KEY, LIMIT_KEY = "framewise:llm:inflight", "framewise:llm:limit"
LEASE_S = 600  # a call holds its lease at most this long (a killed process's lease lapses)
LIMIT_TTL_S = 900  # a lowered limit is forgotten after this long without timeouts
RAISE_AFTER = 20
POLL_S = 0.05

# Take a lease when fewer than ARGV[3] are live: KEYS[1] leases, ARGV: now, lapse time, limit, token.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
  return 1
end
return 0
"""


class SlotTimeout(Exception):
    """No slot came free before the call's deadline."""


class Slots:
    """The calls in flight of this process, and its view of the shared limit."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy = 0
        self._answers_in_time = 0
        self.ceiling = 4  # LLM_MAX_CONCURRENCY, or fewer when the server has fewer slots
        self.local_limit = self.ceiling  # this process's calls at once (the shared limit, last seen)

    def configure(self, ceiling: int) -> None:
        with self._cond:
            self.ceiling = self.local_limit = max(1, ceiling)
            self._cond.notify_all()

    def limit(self) -> int:
        """The limit in force: the shared one where Redis answers, else this process's."""
        try:
            shared = redis_store.conn.get(LIMIT_KEY)
        except RedisError:
            return self.local_limit
        return min(self.ceiling, int(shared)) if shared else self.ceiling

    @contextmanager
    def slot(self, deadline: float) -> Iterator[None]:
        """Hold one slot for the block; SlotTimeout when none frees before ``deadline`` (monotonic)."""
        with self._cond:
            while self._busy >= self.local_limit:
                if not self._cond.wait(timeout=max(0.0, deadline - time.monotonic())):
                    raise SlotTimeout
            self._busy += 1
        token = None
        try:
            token = self._lease(deadline)
            yield
        finally:
            if token:
                self._release(token)
            with self._cond:
                self._busy -= 1
                self._cond.notify()

    def _lease(self, deadline: float) -> str | None:
        token = uuid.uuid4().hex
        while True:
            limit = self.limit()
            try:
                now = time.time()
                if redis_store.conn.eval(_ACQUIRE, 1, LEASES_KEY, now, now + LEASE_S, limit, token):
                    return token
            except RedisError:
                return None  # this process's counter is the limit
            if time.monotonic() >= deadline:
                raise SlotTimeout
            time.sleep(POLL_S)

    def _release(self, token: str) -> None:
        try:
            redis_store.conn.zrem(LEASES_KEY, token)
        except RedisError:
            pass

    def timed_out(self) -> None:
        """A call ran out of time: fewer calls at once, for every process."""
        lowered = max(1, self.limit() // 2)
        self.local_limit, self._answers_in_time = lowered, 0
        try:
            redis_store.conn.set(LIMIT_KEY, lowered, ex=LIMIT_TTL_S)
        except RedisError:
            pass
        log.warning("LLM calls time out: concurrency lowered", extra={"limit": lowered})

    def answered(self) -> None:
        """A call answered in time: after RAISE_AFTER of them, one more call at once."""
        self._answers_in_time += 1
        if self._answers_in_time < RAISE_AFTER:
            return
        self._answers_in_time = 0
        current = self.limit()
        if current >= self.ceiling:
            return
        with self._cond:
            self.local_limit = current + 1
            self._cond.notify()
        try:
            redis_store.conn.set(LIMIT_KEY, current + 1, ex=LIMIT_TTL_S)
        except RedisError:
            pass

    def in_flight(self) -> int:
        try:
            redis_store.conn.zremrangebyscore(LEASES_KEY, "-inf", time.time())
            return int(redis_store.conn.zcard(LEASES_KEY))
        except RedisError:
            return self._busy


SLOTS = Slots()
