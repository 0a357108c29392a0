"""Zip containers (DOCX, PPTX, ODT) checked before anything inside them is read.

A zip bomb is refused from its central directory alone: too many entries, a declared
uncompressed total over the limit, or an entry that expands more than ``MAX_RATIO`` times.
The declared sizes can be trusted for what follows: Python's ``zipfile`` never inflates an
entry past its declared size (the reader stops there and the CRC check fails), and python-docx,
python-pptx and the ODT reader all read through ``zipfile``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from backend_app.adapters.documents.errors import DocumentError

MAX_ENTRIES = 10_000
MAX_RATIO = 200  # real office files compress XML ~10–30×; 200× is only reached by padding
RATIO_FLOOR = 1 << 20  # entries smaller than 1 MiB uncompressed are never a bomb by ratio

# The entry each format cannot be without: a zip lacking it is not that kind of file.
REQUIRED = {"docx": "word/document.xml", "pptx": "ppt/presentation.xml", "odt": "content.xml"}


def check(path: str | Path, kind: str, *, max_unzipped: int) -> None:
    """Raise DocumentError(DOCUMENT_ZIP_BOMB | DOCUMENT_CORRUPT) unless ``path`` is a sane ``kind`` zip."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DocumentError("DOCUMENT_CORRUPT", f"The file is not a readable {kind.upper()} (zip) file.") from exc
    if len(entries) > MAX_ENTRIES:
        raise _bomb(f"it has {len(entries)} entries (at most {MAX_ENTRIES})", entries=len(entries))
    total = sum(entry.file_size for entry in entries)
    if total > max_unzipped:
        raise _bomb(f"it would expand to {total} bytes (at most {max_unzipped})", unzipped=total, limit=max_unzipped)
    for entry in entries:
        if entry.file_size > RATIO_FLOOR and entry.file_size > MAX_RATIO * max(entry.compress_size, 1):
            ratio = entry.file_size // max(entry.compress_size, 1)
            raise _bomb(f"an entry expands {ratio} times (at most {MAX_RATIO})", ratio=ratio)
    required = REQUIRED.get(kind)
    if required and required not in {entry.filename for entry in entries}:
        raise DocumentError("DOCUMENT_CORRUPT", f"The file is a zip but not a {kind.upper()} (no {required}).")


def _bomb(why: str, **details) -> DocumentError:
    return DocumentError("DOCUMENT_ZIP_BOMB", f"The file was refused before extraction: {why}.", details=details)
