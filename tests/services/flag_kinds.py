"""Test-only job kind for flag propagation. Workers import it when JOB_MODULES names it.

``flag_probe`` asks, every 50 ms for ``payload.seconds``, which variant a batch stored as v2
would run now, and writes one line per answer (wall-clock time, variant) to ``payload.out``.
"""

from __future__ import annotations

import time
from pathlib import Path

from backend_app.queue.kinds import JobKind, register
from backend_app.variant import effective_variant

register(JobKind("test_flag_probe", "default", "tests.services.flag_kinds:probe", default_timeout_s=60))


def probe(job, ctx) -> dict:
    out = Path(job.payload["out"])
    deadline = time.monotonic() + float(job.payload.get("seconds", 3))
    with out.open("a") as fh:
        while time.monotonic() < deadline:
            fh.write(f"{time.time()} {effective_variant('v2')}\n")
            fh.flush()
            time.sleep(0.05)
    return {"done": True}
