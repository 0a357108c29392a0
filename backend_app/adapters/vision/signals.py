"""Per-frame signals on downscaled frames, and the distance that tells one shot from another.

The content signature is a 16x9 colour thumbnail, zero-mean and unit-norm over all its values:
its correlation with the previous signature ignores gain and offset, so a slow fade or a
lighting change keeps two frames of one shot close while a cut to other content does not.
Near-uniform frames (black, a flash of white) have no structure to correlate; for them the
distance is the change of mean colour.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

SIG_SIZE = (16, 9)
ANALYSIS_WIDTH = 160
FLAT_STD = 3.0  # below this (0-255 levels) a frame has no structure to correlate
KEY_MAX_SIDE = 960  # keyframe candidates are kept at most this large


@dataclass
class Sample:
    """One analysed frame: its signals, and its picture while it may still become a keyframe."""

    index: int
    t: float
    sig: np.ndarray
    mean_bgr: np.ndarray
    flat: bool
    brightness: float  # mean luma, 0-1
    contrast: float  # luma standard deviation, 0-1
    sharpness: float  # variance of the Laplacian of the analysis-size luma
    gray: np.ndarray = field(repr=False)
    view: np.ndarray | None = field(default=None, repr=False)
    motion: float = 0.0  # mean absolute luma change per frame since the previous sample, 0-1
    shift: tuple[float, float] = (0.0, 0.0)  # global translation per frame (analysis pixels)
    flash: bool = False


def scaled(width: int, height: int, max_side: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def measure(frame: np.ndarray, index: int, fps: float) -> Sample:
    """Downscale once to the keyframe view, then to the analysis size, and measure."""
    height, width = frame.shape[:2]
    view = frame
    if max(width, height) > KEY_MAX_SIDE:
        view = cv2.resize(frame, scaled(width, height, KEY_MAX_SIDE), interpolation=cv2.INTER_AREA)
    small = cv2.resize(view, (ANALYSIS_WIDTH, max(1, round(height * ANALYSIS_WIDTH / width))),
                       interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    thumb = cv2.resize(small, SIG_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)
    centered = thumb - thumb.mean()
    std = float(centered.std())
    norm = float(np.linalg.norm(centered))
    mean, dev = cv2.meanStdDev(gray)
    return Sample(index=index, t=index / fps, sig=(centered / norm).ravel() if norm > 0 else centered.ravel(),
                  mean_bgr=thumb.reshape(-1, 3).mean(axis=0), flat=std < FLAT_STD,
                  brightness=float(mean[0][0]) / 255.0, contrast=float(dev[0][0]) / 255.0,
                  sharpness=float(cv2.Laplacian(gray, cv2.CV_32F).var()), gray=gray, view=view)


def distance(a: Sample, b: Sample) -> float:
    """0 (same content) … 1 (unrelated content)."""
    if a.flat or b.flat:
        return float(min(1.0, np.linalg.norm(a.mean_bgr - b.mean_bgr) / 64.0))
    return float(min(1.0, max(0.0, 1.0 - float(np.dot(a.sig, b.sig)))))


def link(prev: Sample, cur: Sample) -> None:
    """Motion and global shift of ``cur`` relative to the previous sample, per frame."""
    gap = max(1, cur.index - prev.index)
    if prev.gray.shape != cur.gray.shape:
        return
    cur.motion = float(cv2.absdiff(prev.gray, cur.gray).mean()) / 255.0 / gap
    if cur.flat or prev.flat:
        return
    (dx, dy), _ = cv2.phaseCorrelate(prev.gray.astype(np.float32), cur.gray.astype(np.float32))
    cur.shift = (dx / gap, dy / gap)
