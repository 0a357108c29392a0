"""Filenames people see: the names of uploads and downloads, safe in any header and any browser."""

from __future__ import annotations

import re
from urllib.parse import quote

# Control characters (C0, DEL, C1), the bidirectional formatting characters (LRE, RLE, PDF,
# LRO, RLO, LRI, RLI, FSI, PDI, LRM, RLM, ALM) and the line/paragraph separators. A name with
# a right-to-left override shows "invoice‮fdp.exe" as "invoiceexe.pdf"; none of these belongs
# in a filename.
_UNSHOWABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def clean(name: str) -> str:
    """``name`` without control or bidirectional formatting characters (may be empty)."""
    return _UNSHOWABLE.sub("", name or "")


def content_disposition(filename: str) -> str:
    """An attachment header that survives any filename (RFC 6266 with a UTF-8 fallback)."""
    filename = clean(filename) or "download"
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename) or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
