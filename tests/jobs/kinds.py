"""Test-only job kinds. Workers import this module when JOB_MODULES=tests.jobs.kinds.

* ``sleepy``: reports progress, then sleeps ``payload.seconds`` in small steps; records each
  run in ``payload.marker_dir`` (one file per run) so a test can count executions.
* ``flaky``: fails with a retryable error until run ``payload.succeed_on`` (never, by default).
* ``broken``: fails at once with a non-retryable code.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from backend_app.queue.errors import JobFailure, RetryableFailure
from backend_app.queue.kinds import JobKind, register

# Settings that make the job machinery react in seconds, for tests that kill workers or wait on them.
FAST = dict(
    job_heartbeat_s=1,
    job_lost_after_s=3,
    stale_queued_s=1,
    reconcile_interval_s=2,
    job_retry_backoff_s=1,
    job_max_attempts=3,
    job_modules=["tests.jobs.kinds"],
)

register(JobKind("test_sleepy", "default", "tests.jobs.kinds:sleepy", default_timeout_s=30))
register(JobKind("test_hang", "default", "tests.jobs.kinds:sleepy", default_timeout_s=2))
register(JobKind("test_swallow", "default", "tests.jobs.kinds:swallowing", default_timeout_s=2))
register(JobKind("test_flaky", "default", "tests.jobs.kinds:flaky", default_timeout_s=30))
register(JobKind("test_broken", "default", "tests.jobs.kinds:broken", default_timeout_s=30))


def _mark(job, what: str) -> None:
    marker_dir = (job.payload or {}).get("marker_dir")
    if marker_dir:
        Path(marker_dir).mkdir(parents=True, exist_ok=True)
        (Path(marker_dir) / f"{what}-{job.id}-{job.attempts}-{os.getpid()}").write_text(str(time.time()))


def sleepy(job, ctx) -> dict:
    _mark(job, "start")
    if (job.payload or {}).get("ignore_alarm"):  # like a C call that never returns to Python
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
    seconds = float((job.payload or {}).get("seconds", 1.0))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ctx.progress("sleeping", 100 * (1 - (deadline - time.monotonic()) / seconds))
        time.sleep(min(0.2, max(deadline - time.monotonic(), 0)))
    _mark(job, "done")
    return {"slept": seconds, "pid": os.getpid(), "attempt": job.attempts}


def swallowing(job, ctx) -> dict:
    """Work whose first part isolates failures with ``except Exception`` (as the canary guard's
    recording in a batch did), the rest not: RQ's time limit, raised once, lands in the first part
    and is swallowed, and the run goes on."""
    _mark(job, "start")
    deadline = time.monotonic() + float((job.payload or {}).get("seconds", 30))
    swallowed = False
    while not swallowed and time.monotonic() < deadline:
        try:
            time.sleep(0.05)
        except Exception:
            swallowed = True
            _mark(job, "swallowed")
    while time.monotonic() < deadline:
        time.sleep(0.05)
    _mark(job, "done")
    return {"swallowed": swallowed}


def flaky(job, ctx) -> dict:
    _mark(job, "start")
    succeed_on = int((job.payload or {}).get("succeed_on", 0))
    if succeed_on and job.attempts >= succeed_on:
        return {"attempt": job.attempts}
    raise RetryableFailure("AI_PROVIDER_FAILED", f"provider unavailable on attempt {job.attempts}")


def broken(job, ctx) -> None:
    _mark(job, "start")
    raise JobFailure("VIDEO_UNREADABLE", "the file is not a video")
