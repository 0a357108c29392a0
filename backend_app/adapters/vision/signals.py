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
    half: np.ndarray = field(repr=False)  # float32 luma at half the analysis size, for the shift
    frame: np.ndarray | None = field(default=None, repr=False)  # full picture, kept only until decided
    view: np.ndarray | None = field(default=None, repr=False)  # keyframe-size picture of a candidate
    motion: float = 0.0  # mean absolute luma change per frame since the previous sample, 0-1
    shift: tuple[float, float] = (0.0, 0.0)  # global translation per frame (analysis pixels)
    flash: bool = False

    def keep_view(self) -> None:
        """Make the keyframe-size picture from the full frame (only candidates pay for this)."""
        if self.view is None and self.frame is not None:
            height, width = self.frame.shape[:2]
            self.view = self.frame
            if max(width, height) > KEY_MAX_SIDE:
                self.view = cv2.resize(self.frame, scaled(width, height, KEY_MAX_SIDE), interpolation=cv2.INTER_AREA)


def scaled(width: int, height: int, max_side: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def measure(frame: np.ndarray, index: int, fps: float) -> Sample:
    """Downscale once to the analysis size and measure; the full frame rides along until decided."""
    height, width = frame.shape[:2]
    small = cv2.resize(frame, (ANALYSIS_WIDTH, max(1, round(height * ANALYSIS_WIDTH / width))),
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
                  sharpness=float(cv2.Laplacian(gray, cv2.CV_32F).var()), gray=gray,
                  half=cv2.pyrDown(gray).astype(np.float32), frame=frame)


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
    (dx, dy), _ = cv2.phaseCorrelate(prev.half, cur.half)
    cur.shift = (2 * dx / gap, 2 * dy / gap)  # in analysis-size pixels
