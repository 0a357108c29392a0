"""The checks every upload kind shares (videos and documents): the declared size, the stored
object's size against its declaration, and the name shown to the user.

Each kind's policy (services/video/policy.py, services/documents/policy.py) passes its own
``refusal`` (its codes and statuses) and what it calls a file that is too large; the type checks,
which differ, stay there.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from backend_app import filenames
from backend_app.errors import AppError

Refusal = Callable[..., AppError]


def clean_filename(name: str, fallback: str) -> str:
    """The name shown to the user: last path component, no control or bidi characters, at most 255."""
    base = filenames.clean(re.split(r"[\\/]", name or "")[-1]).strip()
    return base[:255] or fallback


def check_declared_size(file_size: int, limit: int, refusal: Refusal, *, too_large: str, noun: str) -> None:
    """Refuse a negative, empty or too large declared size (``too_large`` is the kind's code)."""
    if file_size < 0:
        raise AppError(
            "file_size must not be negative.",
            code="VALIDATION_ERROR",
            status=422,
            details={"fields": {"file_size": "must be 0 or more"}},
        )
    if file_size == 0:
        raise refusal("EMPTY_FILE", "The file is empty.")
    if file_size > limit:
        raise refusal(
            too_large,
            f"The {noun} is larger than the {limit} bytes allowed.",
            file_size=file_size,
            limit=limit,
        )


def check_stored_size(declared: int, size: int | None, refusal: Refusal) -> None:
    """Refuse a stored object that is missing, empty, shorter or longer than declared."""
    if size is None:
        raise refusal(
            "UPLOAD_INCOMPLETE",
            "No file has been uploaded yet; PUT the bytes to upload_url first.",
            declared=declared,
            received=0,
        )
    if size == 0:
        raise refusal("EMPTY_FILE", "The uploaded file is empty.")
    if size < declared:
        raise refusal(
            "UPLOAD_INCOMPLETE",
            f"Only {size} of {declared} bytes arrived; upload the file again.",
            declared=declared,
            received=size,
        )
    if size > declared:
        raise refusal(
            "UPLOAD_SIZE_MISMATCH",
            f"{size} bytes arrived but {declared} were declared.",
            declared=declared,
            received=size,
        )
