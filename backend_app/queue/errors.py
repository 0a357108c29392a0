"""Errors a job handler raises; the runner turns them into the row's status."""

from __future__ import annotations

from rq.timeouts import JobTimeoutException


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


class JobCanceled(Exception):
    """The row was canceled by its owner while this run held it: the run stops, keeping what it stored."""


# What interrupts a run from outside (RQ's hard time limit arrives as an exception raised in the
# work horse's main thread): code that catches every Exception to isolate one item's failure must
# let these through, or the run would go on past its limit.
INTERRUPTIONS: tuple[type[BaseException], ...] = (JobTimeoutException, JobCanceled)
