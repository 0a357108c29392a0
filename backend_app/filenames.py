"""Filenames people see: the names of downloads, safe in any header and any browser."""

from __future__ import annotations

from urllib.parse import quote


def content_disposition(filename: str) -> str:
    """An attachment header that survives any filename (RFC 6266 with a UTF-8 fallback)."""
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename) or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
