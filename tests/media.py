"""Real video files for tests, made with ffmpeg from generated frames.

Each shot has its own background colour and a square that moves across it, so a cut is a
real content change and a shot has real motion. Add more generators here (only add).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pytest

PALETTE = [
    (200, 40, 40),
    (40, 160, 60),
    (40, 70, 200),
    (220, 200, 40),
    (150, 40, 170),
    (30, 180, 190),
    (240, 130, 30),
    (90, 90, 90),
]
CODECS = {
    "h264": ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast", "-g", "50"],
    "mpeg4": ["-c:v", "mpeg4", "-q:v", "4"],
    "mjpeg": ["-c:v", "mjpeg", "-q:v", "4", "-pix_fmt", "yuvj420p"],
    "vp8": ["-c:v", "libvpx", "-b:v", "500k", "-pix_fmt", "yuv420p"],
}


def require_ffmpeg() -> str:
    """The ffmpeg binary, or skip the test saying it is missing."""
    path = shutil.which("ffmpeg")
    if path is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg) — needed to make test videos")
    return path


def shot_frame(index: int, shot: int, width: int, height: int, fps: float) -> np.ndarray:
    """One RGB frame: the shot's colour with a square moving left to right."""
    frame = np.empty((height, width, 3), dtype=np.uint8)
    frame[:] = PALETTE[shot % len(PALETTE)]
    side = max(8, min(width, height) // 4)
    x = int((index * 4) % max(1, width - side))
    y = (height - side) // 2
    frame[y : y + side, x : x + side] = (255 - np.array(PALETTE[shot % len(PALETTE)])).astype(np.uint8)
    return frame


def make_clip(
    path: str | Path,
    *,
    seconds: float,
    fps: int = 25,
    size: tuple[int, int] = (320, 180),
    cuts: Sequence[float] = (),
    codec: str = "h264",
) -> Path:
    """Write a clip of ``seconds`` with hard cuts at the given times (seconds); returns its path."""
    ffmpeg = require_ffmpeg()
    path = Path(path)
    width, height = size
    total = int(round(seconds * fps))
    cut_frames = sorted(int(round(c * fps)) for c in cuts)
    cmd = [
        ffmpeg,
        "-v",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{width}x{height}",
        "-r",
        str(fps),
        "-i",
        "-",
        *CODECS[codec],
        "-r",
        str(fps),
        str(path),
    ]
    frames = (shot_frame(i, sum(1 for c in cut_frames if i >= c), width, height, fps) for i in range(total))
    pipe_frames(cmd, frames)
    return path


def pipe_frames(cmd: list[str], frames: Iterable[np.ndarray]) -> None:
    """Feed raw frames to an ffmpeg command reading stdin; raises with its error output if it fails."""
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for frame in frames:
            proc.stdin.write(np.ascontiguousarray(frame).tobytes())
    finally:
        proc.stdin.close()
        err = proc.stderr.read()
        proc.wait(timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed: {err.decode(errors='replace')[-500:]}")
