"""The retry table names every code a job can fail with, and says for each whether a retry can help."""

from __future__ import annotations

import ast
from pathlib import Path

from backend_app import failure_codes
from backend_app.services.video.policy import STATUS_BY_CODE

ROOT = Path(__file__).resolve().parents[1] / "backend_app"
# Calls whose first argument is the code a job (or what it runs) fails with.
RAISERS = {"JobFailure", "RetryableFailure", "VisionError", "LLMError", "V2Failure", "DocumentError"}


def raised_codes() -> dict[str, set[str]]:
    """code -> the classes it is raised with, read from every call in the package."""
    found: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            first = node.args[0]
            if name in RAISERS and isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.setdefault(first.value, set()).add(name)
    return found


def test_every_code_a_job_can_fail_with_is_in_the_table_once():
    from backend_app.adapters import llm
    from backend_app.queue import state

    codes = set(raised_codes()) | set(STATUS_BY_CODE) - {"UPLOAD_INCOMPLETE"}  # incomplete: never a failed job
    codes |= {state.WORKER_LOST, state.JOB_TIMEOUT, state.INTERNAL_ERROR, llm.UNAVAILABLE, llm.REFUSED}
    codes |= {llm.STREAM_FAILED}
    assert len(codes) > 20
    listed = set(failure_codes.NOT_RETRYABLE) | failure_codes.RETRYABLE
    assert codes - listed == set(), "add these codes to backend_app/failure_codes.py"
    assert set(failure_codes.NOT_RETRYABLE) & failure_codes.RETRYABLE == set()


def test_a_code_raised_for_an_automatic_retry_is_one_a_retry_can_help():
    for code, raisers in raised_codes().items():
        if "RetryableFailure" in raisers:
            assert failure_codes.retry_helps(code), code


def test_deterministic_video_failures_are_not_retryable_and_passing_ones_are():
    for code in ("UNSUPPORTED_CODEC", "VIDEO_UNREADABLE", "NO_VIDEO_STREAM", "VIDEO_TOO_LONG", "VIDEO_TOO_LARGE"):
        assert not failure_codes.retry_helps(code) and failure_codes.why_not(code)
    for code in ("WORKER_LOST", "JOB_TIMEOUT", "STORAGE_DOWNLOAD_FAILED", None, "SOMETHING_NEW"):
        assert failure_codes.retry_helps(code) and failure_codes.why_not(code) is None
