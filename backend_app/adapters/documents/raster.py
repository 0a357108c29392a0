"""Pictures of pages: page images opened safely, and small JPEG thumbnails.

Thumbnails are JPEG (quality 80): a rendered page encodes in under a millisecond, where PNG took
10–35 ms, a third of a text page's whole extraction.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from backend_app.adapters.documents.errors import DocumentError

MAX_PIXELS = 60_000_000  # a 600 dpi A3 scan; larger is a decompression bomb, not a page
THUMB_LONG_SIDE = 320
# ~137 dpi for an A4 page: 10-point text still reads whole, and the detector's work (most of OCR's
# time, growing with the pixels) is 0.7x that of 2000 px.
OCR_LONG_SIDE = 1600


def open_image(path: str | Path) -> Image.Image:
    """A PNG or JPEG page, upright (EXIF orientation applied), as RGB; coded errors otherwise."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size is checked below
            probe = Image.open(path)
        with probe:
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise DocumentError(
                    "DOCUMENT_CORRUPT",
                    f"The image is {width}×{height} pixels (at most {MAX_PIXELS} pixels).",
                    details={"width": width, "height": height},
                )
            if probe.format not in ("PNG", "JPEG"):
                raise DocumentError("DOCUMENT_CORRUPT", f"The image is {probe.format}, not PNG or JPEG.")
            image = ImageOps.exif_transpose(probe)
            return image.convert("RGB")
    except DocumentError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DocumentError("DOCUMENT_CORRUPT", f"The image cannot be read: {str(exc)[:200]}.") from exc


def fit(image: Image.Image, long_side: int) -> Image.Image:
    """The image scaled down (never up) so its longer side is at most ``long_side``."""
    scale = long_side / max(image.size)
    if scale >= 1:
        return image
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.LANCZOS)


def thumbnail_jpeg(image: Image.Image, long_side: int = THUMB_LONG_SIDE) -> bytes:
    """A small JPEG of the page for the report."""
    out = io.BytesIO()
    fit(image, long_side).convert("RGB").save(out, format="JPEG", quality=80)
    return out.getvalue()
