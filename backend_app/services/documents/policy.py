"""What a document upload must be: a known type by its declaration, then by its bytes.

At init the declared size and type (or the file name, for a generic type) are checked; at
complete the stored object's size and magic bytes, and for the zip formats (DOCX, PPTX, ODT)
the zip's directory (``adapters/documents/zipguard``: a zip bomb is refused here, before the job
ever opens it, and again by the job). Everything a reader finds inside the file (encryption, a
damaged structure, too many pages) ends as a failed job with its code.
"""

from __future__ import annotations

import mimetypes

from flask import current_app

from backend_app.errors import AppError
from backend_app.services import upload_rules

HEAD_BYTES = 1024
GUESSABLE = {"", "application/octet-stream", "binary/octet-stream"}

# content type -> document kind (the first type of each kind is the one stored)
TYPES: dict[str, str] = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "application/vnd.oasis.opendocument.text": "odt",
    "text/markdown": "markdown",
    "text/plain": "text",
    "image/png": "image",
    "image/jpeg": "image",
}
ALIASES = {
    "application/x-pdf": "application/pdf",
    "text/x-markdown": "text/markdown",
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
}
EXTENSIONS = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".txt": "text/plain",
    ".text": "text/plain",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}
ZIP_KINDS = ("docx", "pptx", "odt")
STATUS_BY_CODE = {
    "EMPTY_FILE": 422,
    "DOCUMENT_TOO_LARGE": 413,
    "UNSUPPORTED_FORMAT": 415,
    "UPLOAD_INCOMPLETE": 409,
    "UPLOAD_SIZE_MISMATCH": 422,
    "DOCUMENT_ZIP_BOMB": 422,
    "DOCUMENT_CORRUPT": 422,
}
for _ext, _type in EXTENSIONS.items():
    mimetypes.add_type(_type, _ext)


def refusal(code: str, message: str, **details) -> AppError:
    """A coded refusal with the status this policy gives that code."""
    return AppError(message, code=code, status=STATUS_BY_CODE[code], details=details)


def normalize_content_type(content_type: str | None, filename: str) -> str:
    """Lower-cased type without parameters, by its usual name. A generic type is guessed from the
    file name, and so is text/plain for a ``.md`` file (browsers send that for Markdown)."""
    value = (content_type or "").split(";")[0].strip().lower()
    ext = ("." + filename.rsplit(".", 1)[-1].lower()) if "." in filename else ""
    if value in GUESSABLE or (value == "text/plain" and EXTENSIONS.get(ext) == "text/markdown"):
        value = EXTENSIONS.get(ext) or value or "application/octet-stream"
    return ALIASES.get(value, value)


def is_document(content_type: str | None, filename: str) -> bool:
    """Whether an upload declared so is a document (else it goes the video way)."""
    return normalize_content_type(content_type, filename) in TYPES


def clean_filename(name: str) -> str:
    """The name shown to the user: last path component, no control or bidi characters, at most 255."""
    return upload_rules.clean_filename(name, "document")


def check_declared(filename: str, content_type: str | None, file_size: int) -> tuple[str, str]:
    """Check what the client declares; returns (content type to store, document kind)."""
    limit = current_app.config["SETTINGS"].max_document_bytes
    upload_rules.check_declared_size(file_size, limit, refusal, too_large="DOCUMENT_TOO_LARGE", noun="document")
    value = normalize_content_type(content_type, filename)
    if value not in TYPES:
        raise refusal(
            "UNSUPPORTED_FORMAT",
            f"{value!r} is not a supported document type.",
            reason="content_type",
            content_type=value,
            allowed=sorted(TYPES),
        )
    return value, TYPES[value]


def _looks_like_text(head: bytes) -> bool:
    """No NUL bytes, and UTF-8 (a character cut at the end is fine) or mostly printable Latin-1."""
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:
            return True
    printable = sum(1 for b in head if b >= 32 or b in (9, 10, 13))
    return printable >= 0.95 * len(head)


def sniff(head: bytes, kind: str) -> bool:
    """Whether the file's first bytes are what ``kind`` starts with."""
    if kind == "pdf":
        return b"%PDF-" in head[:1024]  # readers accept junk before the header; so do we
    if kind in ZIP_KINDS:
        return head.startswith(b"PK\x03\x04")
    if kind == "image":
        return head.startswith(b"\x89PNG\r\n\x1a\n") or head.startswith(b"\xff\xd8\xff")
    return _looks_like_text(head)


def check_stored(declared: int, size: int | None, head: bytes, kind: str) -> None:
    """Check the stored object against the declaration and its kind's magic bytes."""
    upload_rules.check_stored_size(declared, size, refusal)
    if not sniff(head, kind):
        raise refusal(
            "UNSUPPORTED_FORMAT",
            f"The file's content is not a {kind.upper() if kind not in ('text', 'image') else kind} file.",
            reason="magic_bytes",
            kind=kind,
        )
