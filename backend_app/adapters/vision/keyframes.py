"""What is looked for on keyframes only: faces, QR codes, dominant colours; thumbnails and a contact sheet."""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

from backend_app.adapters.vision.frames import opencv_threads

THUMB_MAX_SIDE = 640
FACE_MAX_SIDE = 240  # Haar's cost grows with the area; faces under ~10% of the picture width are not looked for
QR_MAX_SIDE = 640
TILE = (192, 108)
SHEET_COLUMNS = 4
SHEET_MAX_TILES = 48
MAX_COLOURS = 6
# Named colours for dominant-colour labels (BGR); the nearest in Lab wins.
NAMED = {
    "black": (20, 20, 20),
    "white": (245, 245, 245),
    "gray": (128, 128, 128),
    "silver": (192, 192, 192),
    "red": (40, 40, 210),
    "dark red": (20, 20, 120),
    "orange": (30, 140, 245),
    "yellow": (40, 220, 235),
    "olive": (30, 128, 128),
    "green": (50, 170, 50),
    "dark green": (30, 90, 30),
    "teal": (128, 128, 0),
    "cyan": (220, 210, 40),
    "blue": (230, 60, 20),
    "sky blue": (255, 150, 40),
    "navy": (110, 30, 20),
    "purple": (140, 40, 130),
    "violet": (214, 43, 121),
    "lime": (20, 240, 160),
    "magenta": (200, 60, 210),
    "pink": (190, 170, 250),
    "brown": (40, 80, 130),
    "beige": (180, 210, 230),
    "skin": (150, 175, 215),
}


@lru_cache(maxsize=1)
def face_cascade() -> cv2.CascadeClassifier:
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    if cascade.empty():
        raise RuntimeError("OpenCV's frontal-face cascade is missing from this installation")
    return cascade


# More swatches for names whose range one swatch does not cover: the mid blues (#2040a0, #3f51b5)
# were nearer purple than the saturated blue or the dark navy.
MORE = [("blue", (160, 64, 32))]


@lru_cache(maxsize=1)
def _named_lab() -> tuple[list[str], np.ndarray, np.ndarray]:
    """(the colour names, every swatch in Lab, the index of each swatch's name)."""
    names = list(NAMED)
    bgr = np.array([[*NAMED.values(), *(swatch for _, swatch in MORE)]], dtype=np.uint8)
    name_of = np.array([*range(len(names)), *(names.index(name) for name, _ in MORE)])
    return names, cv2.cvtColor(bgr, cv2.COLOR_BGR2LAB)[0].astype(np.float32), name_of


def warm() -> None:
    """Load what the first inspection would otherwise pay for in every job: the face cascade
    (a 0.9 MB XML, ~20 ms to parse) and OpenCV's Lab conversion tables (built on first use,
    ~100 ms), which the colour names are matched in. OpenCV's thread pool is not started by it
    (frames.opencv_threads: the worker forks its horses after this)."""
    with opencv_threads(1):
        face_cascade()
        _named_lab()


def faces(image: np.ndarray) -> list[dict]:
    """Frontal faces as boxes relative to the image (0-1)."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if max(gray.shape) > FACE_MAX_SIDE:
        scale = FACE_MAX_SIDE / max(gray.shape)
        gray = cv2.resize(
            gray, (round(gray.shape[1] * scale), round(gray.shape[0] * scale)), interpolation=cv2.INTER_AREA
        )
    gray = cv2.equalizeHist(gray)
    height, width = gray.shape
    found = face_cascade().detectMultiScale(gray, scaleFactor=1.1, minNeighbors=4, minSize=(24, 24))
    return [
        {
            "x": round(float(x) / width, 3),
            "y": round(float(y) / height, 3),
            "w": round(float(w) / width, 3),
            "h": round(float(h) / height, 3),
        }
        for x, y, w, h in (found if len(found) else [])
    ]


def qr_texts(image: np.ndarray) -> list[str]:
    """Decoded QR payloads (empty strings, i.e. found but unreadable codes, are dropped).

    OpenCV's ArUco-based QR detector finds the finder patterns several times faster than the
    classic one (~4 against ~25 ms on a 640 px picture with no code). It looks at the picture
    at most QR_MAX_SIDE large; only when it finds a code there that it cannot read does it read
    the full picture, so a small code in a large frame still decodes and frames without a code
    cost one cheap detection.
    """
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    height, width = gray.shape
    small = gray
    if max(width, height) > QR_MAX_SIDE:
        scale = QR_MAX_SIDE / max(width, height)
        small = cv2.resize(gray, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    found, unread = _read_qr(small)
    if unread and small is not gray:
        found, _ = _read_qr(gray)
    return list(dict.fromkeys(found))


def _read_qr(gray: np.ndarray) -> tuple[list[str], bool]:
    """(payloads read, whether a detected code could not be read)."""
    detector = cv2.QRCodeDetectorAruco()
    try:
        ok, texts, _points, _ = detector.detectAndDecodeMulti(gray)
    except cv2.error:  # some OpenCV builds fail on odd inputs in the multi detector
        text, _points, _ = cv2.QRCodeDetector().detectAndDecode(gray)
        return ([text] if text else []), False
    texts = list(texts or ()) if ok else []
    return [t for t in texts if t], any(not t for t in texts)


def colors(image: np.ndarray, most: int = MAX_COLOURS) -> list[dict]:
    """The named colours covering at least 5 % of the picture, largest share first (at most
    ``most``): name, share, and hex (the mean of the pixels given that name).

    Every pixel of a small copy is named (the nearest swatch in Lab) and the names counted.
    Clustering the pixels first (k-means) reported mixtures no pixel has: colour bars came out
    "violet and orange" (blue with magenta, red with yellow), and their green was lost.
    """
    small = cv2.resize(image, (64, 36), interpolation=cv2.INTER_AREA)
    names, named_lab, name_of = _named_lab()
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2LAB).reshape(-1, 3).astype(np.float32)
    # Nearest swatch: |p - s|^2 = |p|^2 - 2 p.s + |s|^2, and |p|^2 is the same for every swatch.
    named = name_of[np.argmin((named_lab * named_lab).sum(axis=1) - 2 * lab @ named_lab.T, axis=1)]
    pixels = small.reshape(-1, 3).astype(np.float64)
    counts = np.bincount(named, minlength=len(names))
    sums = np.stack([np.bincount(named, weights=pixels[:, c], minlength=len(names)) for c in range(3)], axis=1)
    shares = counts / len(named)
    ranked = sorted(np.flatnonzero(shares >= 0.05), key=lambda i: -counts[i])[:most]
    return [{"name": names[i], "hex": _hex(sums[i] / counts[i]), "share": round(float(shares[i]), 3)} for i in ranked]


def _hex(bgr: np.ndarray) -> str:
    b, g, r = (int(round(v)) for v in bgr)
    return f"#{r:02x}{g:02x}{b:02x}"


def thumbnail_jpeg(image: np.ndarray, max_side: int = THUMB_MAX_SIDE, quality: int = 85) -> bytes:
    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(width, height))
    if scale < 1.0:
        image = cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes()


def tile_jpeg(image: np.ndarray) -> bytes:
    """The picture fitted into a contact-sheet tile (on black, no caption yet), JPEG-encoded: made
    while the keyframe is in memory, on the inspecting thread, so the sheet is put together at
    the end without reading the thumbnails back (~40 ms of a job, after its decode pass)."""
    tile = np.zeros((TILE[1], TILE[0], 3), np.uint8)
    height, width = image.shape[:2]
    scale = min(TILE[0] / width, TILE[1] / height)
    w, h = max(1, int(width * scale)), max(1, int(height * scale))
    x, y = (TILE[0] - w) // 2, (TILE[1] - h) // 2
    tile[y : y + h, x : x + w] = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    return thumbnail_jpeg(tile, quality=90)


def _captioned(tile: bytes, caption: str) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(tile, np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.shape[:2] != (TILE[1], TILE[0]):
        raise ValueError("not a contact-sheet tile")
    cv2.rectangle(image, (0, TILE[1] - 16), (TILE[0], TILE[1]), (0, 0, 0), -1)
    cv2.putText(image, caption, (4, TILE[1] - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return image


def contact_sheet(items: list[tuple[bytes, str]]) -> bytes | None:
    """A grid of keyframe tiles (tile_jpeg, caption); at most SHEET_MAX_TILES, evenly chosen; JPEG bytes."""
    if not items:
        return None
    if len(items) > SHEET_MAX_TILES:
        step = len(items) / SHEET_MAX_TILES
        items = [items[int(i * step)] for i in range(SHEET_MAX_TILES)]
    columns = min(SHEET_COLUMNS, len(items))
    rows = math.ceil(len(items) / columns)
    sheet = np.full((rows * TILE[1] + (rows + 1) * 4, columns * TILE[0] + (columns + 1) * 4, 3), 24, np.uint8)
    for n, (tile, caption) in enumerate(items):
        r, c = divmod(n, columns)
        y, x = 4 + r * (TILE[1] + 4), 4 + c * (TILE[0] + 4)
        sheet[y : y + TILE[1], x : x + TILE[0]] = _captioned(tile, caption)
    return thumbnail_jpeg(sheet, max_side=4096, quality=80)


def inspect(image: np.ndarray, thumb_path: str) -> dict:
    """Everything looked for on one keyframe's BGR picture; writes its thumbnail JPEG to ``thumb_path``."""
    found = faces(image)
    with open(thumb_path, "wb") as handle:
        handle.write(thumbnail_jpeg(image))
    return {"faces": len(found), "face_boxes": found, "qr_texts": qr_texts(image), "colors": colors(image)}
