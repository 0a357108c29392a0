"""Errors a job handler raises; the runner turns them into the row's status."""

from __future__ import annotations


class JobFailure(Exception):
    """A failure with a stable code. ``retryable`` ones go back to RQ's retry with backoff."""

    retryable = False

    def __init__(self, code: str, message: str, *, retryable: bool | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        if retryable is not None:
            self.retryable = retryable


class RetryableFailure(JobFailure):
    retryable = True
