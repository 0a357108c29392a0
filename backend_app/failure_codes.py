"""Whether running a failed job again can help: one table of every code a job can fail with.

A retry helps when the cause can pass (a network or storage blink, a lost worker, a time limit
under load, a provider outage, a bug since fixed). It cannot when the same input gives the same
answer: a file the decoder cannot read, over the limits, a row that no longer exists. Those are
not offered for retry (the user's button, the API, the admin's "Retry all" and
``flask jobs retry-failed`` skip them and say so); an admin may force one, e.g. after raising
the limits. A code missing from the table is taken as retryable (nothing is hidden by default);
tests/test_failure_codes.py checks that every code the source can fail a job with is here.
"""

from __future__ import annotations

# code -> None when a retry can help, else why it cannot (said to the user next to the failure).
SAME_INPUT = "the same file would fail the same way"
NOT_RETRYABLE: dict[str, str] = {
    # the video cannot be decoded (adapters/vision)
    "VIDEO_UNREADABLE": SAME_INPUT,
    "UNSUPPORTED_CODEC": SAME_INPUT,
    "NO_VIDEO_STREAM": SAME_INPUT,
    "VIDEO_ENCRYPTED": SAME_INPUT,
    "NO_DECODABLE_FRAMES": SAME_INPUT,
    "INVALID_FPS": SAME_INPUT,
    "METADATA_EXTRACTION_FAILED": SAME_INPUT,
    # over the limits: only an admin who changed them may force a retry
    "VIDEO_TOO_LARGE": "the video is over the size limit (an admin may retry it after raising the limit)",
    "VIDEO_TOO_LONG": "the video is over the duration limit (an admin may retry it after raising the limit)",
    # refused at upload (the file was deleted)
    "EMPTY_FILE": "the upload was refused and its file deleted",
    "UNSUPPORTED_FORMAT": "the upload was refused and its file deleted",
    "UPLOAD_SIZE_MISMATCH": "the upload was refused and its file deleted",
    # the document cannot be read (adapters/documents)
    "DOCUMENT_ENCRYPTED": "the document is protected by a password; upload it unprotected",
    "DOCUMENT_CORRUPT": SAME_INPUT,
    "DOCUMENT_ZIP_BOMB": "the file would expand far beyond the limit (an admin may retry it after raising the limit)",
    "DOCUMENT_TOO_MANY_PAGES": "the document has more pages than allowed (an admin may retry it after raising the limit)",
    "DOCUMENT_TOO_LARGE": "the upload was refused and its file deleted",
    "DOCUMENT_NOT_FOUND": "the document no longer exists",
    # what the job was for is gone
    "ANALYSIS_NOT_FOUND": "the analysis no longer exists",
    "BATCH_NOT_FOUND": "the batch no longer exists",
    "BATCH_INPUT_MISSING": "the batch's rows have expired; submit the table again",
    "STUDY_NOT_FOUND": "the study material (or its document) no longer exists",
    "STUDY_NO_TEXT": "the pages hold no text to study",
}
# Codes a retry can help with, listed so the table is complete (see the module docstring).
RETRYABLE: frozenset[str] = frozenset(
    {
        "STORAGE_DOWNLOAD_FAILED",
        "INFRASTRUCTURE_UNAVAILABLE",
        "WORKER_LOST",
        "JOB_TIMEOUT",
        "INTERNAL_ERROR",
        "AI_PROVIDER_FAILED",
        "AI_INVALID_OUTPUT",  # the model may answer validly next time
        "BUDGET_EXCEEDED",  # a new month, or a raised budget
        "PROVIDER_UNAVAILABLE",
        "PROVIDER_REFUSED",
        "STREAM_FAILED",
        "OCR_UNAVAILABLE",  # the OCR engine failed to load here; another worker or a fix may have it
    }
)


def retry_helps(code: str | None) -> bool:
    """True unless ``code`` is a deterministic failure (no code, or an unknown one: True)."""
    return code not in NOT_RETRYABLE


def why_not(code: str | None) -> str | None:
    """Why retrying a job that failed with ``code`` cannot help, or None when it can."""
    return NOT_RETRYABLE.get(code) if code else None
