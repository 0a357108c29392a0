"""Per-frame signals on downscaled frames, and the distance that tells one shot from another.

The content signature is a 16x9 colour thumbnail, zero-mean and unit-norm over all its values:
its correlation with the previous signature ignores gain and offset, so a slow fade or a
lighting change keeps two frames of one shot close while a cut to other content does not.
Near-uniform frames (black, a flash of white) have no structure to correlate; for them the
distance is the change of mean colour.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from backend_app.adapters.vision.frames import shrink

SIG_SIZE = (16, 9)
ANALYSIS_WIDTH = 160
FLAT_STD = 3.0  # a spread (0-255 levels) below which a frame is flat (all values) or plain (each channel)
CHANGE_LEVEL = 16  # a luma change (0-255) larger than coding noise: the pixel changed
KEY_MAX_SIDE = 960  # keyframe candidates are kept at most this large
# A black frame: dark and without structure (0-1). Calibrated on tests/warning_set.py (docs/benchmarks.md).
BLACK_BRIGHTNESS, BLACK_CONTRAST = 0.06, 0.03
# A dark frame: even its brightest 5 % is under this luma (0-1). Not the mean: a normally lit
# animated scene with dark walls and outlines has a mean of 0.15-0.2 and a median of 0.11, while
# its figures and highlights sit at 0.7-0.9; an under-exposed one has nothing above 0.31 (the set).
DARK_HIGHLIGHTS = 0.35
# Edge energy (variance of the Laplacian at half the analysis size) under which a picture has no
# edges for the shift to lock onto: a slowly turning smooth gradient (0.9) read as 2.5 px of shake;
# the darkest picture with content in the calibration set has 13.
SHIFT_MIN_EDGES = 4.0


@dataclass
class Sample:
    """One analysed frame: its signals, and its picture while it may still become a keyframe."""

    index: int
    t: float
    sig: np.ndarray
    mean_bgr: np.ndarray
    flat: bool  # no spread over all values: nothing for the signature to correlate (cuts use the mean colour)
    plain: bool  # no spread within any channel: a plain colour, nothing for the shift to lock onto
    brightness: float  # mean luma, 0-1
    median: float  # median luma, 0-1 (thin dark outlines and shadows do not pull it down as they do the mean)
    highlights: float  # the 95th percentile of luma, 0-1: how bright the brightest part of the picture is
    contrast: float  # luma standard deviation, 0-1
    sharpness: float  # variance of the Laplacian of the analysis-size luma
    coarse: float  # the same at half that size: a blurred picture has its edge energy there, not at full size
    gray: np.ndarray = field(repr=False)
    half: np.ndarray = field(repr=False)  # float32 luma at half the analysis size, for the shift
    source: Callable[[], np.ndarray] | None = field(default=None, repr=False)  # makes the keyframe-size picture
    view: np.ndarray | None = field(default=None, repr=False)  # that picture, once made
    motion: float = 0.0  # mean absolute luma change per frame since the previous sample, 0-1
    shift: tuple[float, float] = (0.0, 0.0)  # global translation per frame (analysis pixels)
    flash: bool = False

    @property
    def black(self) -> bool:
        """A black frame (counted by the black-frame stretches, not as a dark picture)."""
        return self.brightness < BLACK_BRIGHTNESS and self.contrast < BLACK_CONTRAST

    @property
    def dark(self) -> bool:
        """A picture with content whose brightest part is still dark: under-exposed."""
        return self.highlights < DARK_HIGHLIGHTS and not self.black

    def picture(self) -> np.ndarray | None:
        """The keyframe-size BGR picture, made on first use (only keyframes need one)."""
        if self.view is None and self.source is not None:
            self.view, self.source = self.source(), None
        return self.view

    def forget(self) -> None:
        """Drop the picture and what it is made from (the decoded frame): the sample is no candidate."""
        self.view = self.source = None


def analysis_image(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The small BGR image the signals are measured on, straight from a frame's 4:2:0 planes."""
    height, width = y.shape
    small_height = max(2, round(height * ANALYSIS_WIDTH / width / 2) * 2)
    return shrink(y, u, v, ANALYSIS_WIDTH, small_height)


def measure(small: np.ndarray, index: int, fps: float, source: Callable[[], np.ndarray] | None = None) -> Sample:
    """Measure one sampled frame from its analysis image; ``source`` makes its keyframe picture if asked."""
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    thumb = cv2.resize(small, SIG_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)
    # Mean and spread over all values from the per-channel ones (one OpenCV call, not four numpy
    # passes), combined in plain Python: on three numbers numpy's per-call overhead is the cost.
    channel_means, channel_devs = cv2.meanStdDev(thumb)
    channel_means = channel_means.ravel()
    means, devs = channel_means.tolist(), channel_devs.ravel().tolist()
    mean_all = sum(means) / 3
    std = math.sqrt(sum(d * d + (m - mean_all) ** 2 for m, d in zip(means, devs)) / 3)
    norm = std * math.sqrt(thumb.size)
    centered = (thumb - mean_all).ravel()
    mean, dev = cv2.meanStdDev(gray)
    median, highlights = luma_levels(gray)
    half = cv2.pyrDown(gray).astype(np.float32)
    return Sample(
        index=index,
        t=index / fps,
        sig=centered / norm if norm > 0 else centered,
        mean_bgr=channel_means,
        flat=std < FLAT_STD,
        plain=max(devs) < FLAT_STD,
        brightness=float(mean[0][0]) / 255.0,
        median=median,
        highlights=highlights,
        contrast=float(dev[0][0]) / 255.0,
        sharpness=float(cv2.meanStdDev(cv2.Laplacian(gray, cv2.CV_16S))[1][0][0]) ** 2,
        coarse=float(cv2.meanStdDev(cv2.Laplacian(half, cv2.CV_32F))[1][0][0]) ** 2,
        gray=gray,
        half=half,
        source=source,
    )


def luma_levels(gray: np.ndarray) -> tuple[float, float]:
    """The median and the 95th percentile of a luma picture, 0-1 (from its histogram: ~20 µs at 160x90)."""
    counts = cv2.calcHist([gray], [0], None, [256], [0, 256]).ravel().cumsum()
    total = counts[-1]
    median, high = np.searchsorted(counts, (0.5 * total, 0.95 * total))
    return float(median) / 255.0, float(high) / 255.0


def distance(a: Sample, b: Sample) -> float:
    """0 (same content) … 1 (unrelated content)."""
    if a.flat or b.flat:
        return float(min(1.0, np.linalg.norm(a.mean_bgr - b.mean_bgr) / 64.0))
    return float(min(1.0, max(0.0, 1.0 - float(np.dot(a.sig, b.sig)))))


def changed_share(before: np.ndarray, after: np.ndarray) -> float:
    """The share of pixels whose luma changed by more than CHANGE_LEVEL (1.0 for pictures of other sizes)."""
    if before.shape != after.shape:
        return 1.0
    diff = cv2.absdiff(before, after)
    return cv2.countNonZero(cv2.threshold(diff, CHANGE_LEVEL, 255, cv2.THRESH_BINARY)[1]) / diff.size


def link(prev: Sample, cur: Sample) -> None:
    """Motion and global shift of ``cur`` relative to the previous sample, per frame."""
    gap = max(1, cur.index - prev.index)
    if prev.gray.shape != cur.gray.shape:
        return
    cur.motion = cv2.norm(prev.gray, cur.gray, cv2.NORM_L1) / prev.gray.size / 255.0 / gap
    if cur.plain or prev.plain:  # a plain red picture is no flat one to the signature, but has no texture:
        return  # phase correlation of its coding noise gave shifts of ~30 px ("shaky")
    if min(cur.coarse, prev.coarse) < SHIFT_MIN_EDGES:  # a smooth gradient: no edges to follow either
        return
    (dx, dy), _ = cv2.phaseCorrelate(prev.half, cur.half)
    cur.shift = (2 * dx / gap, 2 * dy / gap)  # in analysis-size pixels
