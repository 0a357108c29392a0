"""Synthetic scenes for the video analysis tests: known cuts, a flash, a slow fade, a face, a QR code.

Frames are drawn with numpy/OpenCV and encoded to H.264 by ffmpeg (tests.media.require_ffmpeg
skips when it is missing), so every clip is a real file with real compression.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import cv2
import numpy as np

from tests.media import pipe_frames, require_ffmpeg

Frame = np.ndarray  # BGR uint8


def encode(
    path: str | Path,
    frames: Iterable[Frame],
    *,
    fps: int = 25,
    size: tuple[int, int] = (320, 180),
    codec: tuple[str, ...] = ("-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast"),
) -> Path:
    """Pipe BGR frames to ffmpeg; returns the path."""
    ffmpeg = require_ffmpeg()
    width, height = size
    cmd = [
        ffmpeg,
        "-v",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "bgr24",
        "-s",
        f"{width}x{height}",
        "-r",
        str(fps),
        "-i",
        "-",
        *codec,
        str(path),
    ]
    pipe_frames(cmd, frames)
    return Path(path)


def textured(shot: int, index: int, size: tuple[int, int] = (320, 180)) -> Frame:
    """A shot with structure: a two-colour gradient, stripes and a disc that moves slowly."""
    width, height = size
    rng = np.random.default_rng(shot)
    a, b = rng.integers(30, 225, 3), rng.integers(30, 225, 3)
    ramp = np.linspace(0, 1, width, dtype=np.float32)[None, :, None]
    frame = (a * (1 - ramp) + b * ramp).astype(np.uint8).repeat(height, axis=0)
    step = 12 + 6 * (shot % 4)
    for x in range(int(rng.integers(0, step)), width, step * 2):
        cv2.line(frame, (x, 0), (x + height // 2, height), tuple(int(c) for c in 255 - a), 2)
    cx = int(width * (0.2 + 0.6 * ((index * 2) % width) / width))
    cv2.circle(frame, (cx, height // 2), height // 5, tuple(int(c) for c in rng.integers(0, 255, 3)), -1)
    return frame


def cut_clip(
    path,
    cut_frames: list[int],
    total: int,
    *,
    flash_frames: Iterable[int] = (),
    fps: int = 25,
    size: tuple[int, int] = (320, 180),
) -> Path:
    """Textured shots that change at ``cut_frames``; frames in ``flash_frames`` are blown-out white."""
    flashes = set(flash_frames)

    def frames():
        for i in range(total):
            if i in flashes:
                yield np.full((size[1], size[0], 3), 250, np.uint8)
                continue
            yield textured(sum(1 for c in cut_frames if i >= c), i, size)

    return encode(path, frames(), fps=fps, size=size)


def fade_clip(path, total: int = 125, *, fps: int = 25, size: tuple[int, int] = (320, 180), low: float = 0.1) -> Path:
    """One shot whose brightness falls slowly to ``low`` and comes back (no cut)."""

    def frames():
        for i in range(total):
            phase = abs(1 - 2 * i / (total - 1))  # 1 → 0 → 1
            gain = low + (1 - low) * phase
            yield np.clip(textured(3, i, size).astype(np.float32) * gain, 0, 255).astype(np.uint8)

    return encode(path, frames(), fps=fps, size=size)


def draw_face(size: tuple[int, int] = (320, 180), dx: int = 0) -> Frame:
    """A drawn frontal face that OpenCV's frontal-face Haar cascade detects (checked in the tests)."""
    width, height = size
    img = np.full((height, width, 3), (90, 110, 80), np.uint8)
    cx, cy = width // 2 + dx, height // 2
    cv2.ellipse(img, (cx, cy), (52, 66), 0, 0, 360, (150, 175, 215), -1)
    cv2.ellipse(img, (cx, cy - 40), (56, 34), 0, 180, 360, (30, 35, 45), -1)
    for ex in (-20, 20):
        cv2.ellipse(img, (cx + ex, cy - 18), (13, 4), 0, 180, 360, (40, 45, 60), 3)
        cv2.ellipse(img, (cx + ex, cy - 8), (11, 6), 0, 0, 360, (245, 245, 245), -1)
        cv2.circle(img, (cx + ex, cy - 8), 5, (30, 30, 30), -1)
    nose = np.array([[cx, cy - 6], [cx - 7, cy + 16], [cx + 7, cy + 16]])
    cv2.polylines(img, [nose], True, (110, 130, 170), 2)
    cv2.ellipse(img, (cx, cy + 32), (18, 6), 0, 0, 180, (60, 60, 150), -1)
    return cv2.GaussianBlur(img, (5, 5), 0)


def draw_qr(text: str, size: tuple[int, int] = (320, 180)) -> Frame:
    """A QR code for ``text`` (cv2.QRCodeEncoder) centred on white."""
    width, height = size
    code = cv2.QRCodeEncoder.create().encode(text)
    side = height - 20
    code = cv2.resize(code, (side, side), interpolation=cv2.INTER_NEAREST)
    img = np.full((height, width, 3), 255, np.uint8)
    x, y = (width - side) // 2, (height - side) // 2
    img[y : y + side, x : x + side] = cv2.cvtColor(code, cv2.COLOR_GRAY2BGR)
    return img


def scenes_clip(
    path, scenes: list[tuple[int, Callable[[int], Frame]]], *, fps: int = 25, size: tuple[int, int] = (320, 180)
) -> Path:
    """Concatenate scenes given as (frame count, frame function of the frame index)."""

    def frames():
        index = 0
        for count, draw in scenes:
            for _ in range(count):
                yield draw(index)
                index += 1

    return encode(path, frames(), fps=fps, size=size)
