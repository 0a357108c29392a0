"""Text of a page picture, read by the offline OCR engine (``adapters/ai/ocr.py``, RapidOCR).

The engine loads in the process that first reads a picture (a worker's horse, for the first
scanned page of a job), not when the worker starts: most documents have a text layer, and a
worker that never meets a scan never pays for the models. Lines come back in reading order:
rows top to bottom (lines whose vertical centres are within half a line height are one row),
left to right within a row.
"""

from __future__ import annotations

import numpy as np

from backend_app.adapters.ai import ocr as engine
from backend_app.adapters.documents.errors import DocumentError


def _reading_order(lines: list) -> list:
    rows: list[list] = []
    for line in sorted(lines, key=lambda item: item.box[1] + item.box[3] / 2):
        centre = line.box[1] + line.box[3] / 2
        if rows:
            last = rows[-1][-1]
            if abs(centre - (last.box[1] + last.box[3] / 2)) <= max(line.box[3], last.box[3]) / 2:
                rows[-1].append(line)
                continue
        rows.append([line])
    return [" ".join(item.text for item in sorted(row, key=lambda item: item.box[0])) for row in rows]


def read_text(image) -> str:
    """The text on a page picture (PIL RGB image), one line of text per row, in reading order."""
    bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
    try:
        lines = engine.read_text(bgr)
    except engine.OcrUnavailable as exc:
        raise DocumentError("OCR_UNAVAILABLE", f"The OCR engine cannot run here: {exc}") from exc
    return "\n".join(_reading_order(lines))
