"""Maintenance job kinds."""

from __future__ import annotations

import os
import platform
import socket

from backend_app.jobs.runner import JobContext
from backend_app.models import Job
from backend_app.services import retention


def selftest(job: Job, ctx: JobContext) -> dict:
    """Round trip through Redis and a worker: proves the queue and the runner work."""
    ctx.progress("probing", 50)
    return {
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        "python": platform.python_version(),
        "echo": (job.payload or {}).get("echo"),
    }


def purge(job: Job, ctx: JobContext) -> dict:
    """Delete data older than PURGE_RETENTION_H and orphaned temp files (hourly, from the scheduler)."""
    ctx.progress("purging", 10)
    return retention.purge(dry_run=bool((job.payload or {}).get("dry_run")))
