"""Process helpers for fault tests: find a worker's work horse, kill a worker like a lost host."""

from __future__ import annotations

import os
import signal
from pathlib import Path


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc; RQ's work horse is a child of its worker)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def kill_tree(pid: int) -> list[int]:
    """SIGKILL a worker and its work horse at once, as if the machine had died."""
    victims = children(pid) + [pid]
    for victim in victims:
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return victims


def kill_horse(job_row) -> int:
    """SIGKILL the work horse running ``job_row`` (its pid is on the row); the worker survives."""
    pid = int(job_row.worker_name.rsplit(":", 1)[1])
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:  # it ended on its own meanwhile; the test's assertions say whether that is fine
        pass
    return pid
