"""Shot boundaries in a stream of samples, and what each shot keeps (never all its frames).

A cut is a sample far from the last stable sample (adaptive threshold over recent distances)
that is also a peak (the next sample is close to it). A spike that comes back to the earlier
content within LOOKAHEAD samples is a flash, not a cut. A slow fade keeps every step small.
A "shot" of a single sample (a black first frame before the picture, one transition frame, a
last frame after a cut) is no shot anyone can see or count: it joins the shot after it (at the
end, the one before), so no shot lasts zero seconds or less than a frame.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from backend_app.adapters.vision.signals import Sample, distance

LOOKAHEAD = 2  # samples a decision waits for (flash suppression, peak test)
MIN_THRESHOLD = 0.3
WINDOW = 24  # recent in-shot distances that set the adaptive threshold
SLOTS = 6  # keyframe candidates kept per shot, spread over its length
REPLACE_GAIN = 1.02  # a candidate is replaced only by a clearly sharper frame (not by noise)
MIN_SHOT_SAMPLES = 2  # fewer analysed samples than this make no shot of their own


def adaptive_threshold(recent: deque) -> float:
    count = len(recent)
    if count < 4:
        return MIN_THRESHOLD
    mean = sum(recent) / count  # plain Python: on <= WINDOW values numpy's per-call overhead is most of the cost
    std = math.sqrt(sum((value - mean) ** 2 for value in recent) / count)
    return max(MIN_THRESHOLD, mean + 4 * std + 0.1)


@dataclass
class Shot:
    """Running totals for one shot and a bounded set of keyframe candidates."""

    index: int
    start: int
    end: int = -1
    count: int = 0
    sums: dict = field(
        default_factory=lambda: {
            "brightness": 0.0,
            "median": 0.0,
            "highlights": 0.0,
            "dark": 0.0,
            "motion": 0.0,
            "sharpness": 0.0,
            "coarse": 0.0,
            "contrast": 0.0,
            "jitter": 0.0,
        }
    )
    flashes: int = 0
    samples: int = 0  # analysed samples in the shot, flashes included
    jitter_pairs: int = 0
    slot_width: int = 1
    slots: list = field(default_factory=list)  # [Sample] (the sharpest of each stretch)
    _last_shift: tuple | None = None

    def add(self, sample: Sample) -> None:
        self.end = sample.index
        self.samples += 1
        if sample.flash:
            self.flashes += 1
            return
        for key in ("brightness", "median", "highlights", "sharpness", "coarse", "contrast", "dark"):
            self.sums[key] += getattr(sample, key)
        if self.count:  # the first sample's motion is the cut itself, not motion within the shot
            self.sums["motion"] += sample.motion
        if self._last_shift is not None:
            self.sums["jitter"] += math.hypot(
                sample.shift[0] - self._last_shift[0], sample.shift[1] - self._last_shift[1]
            )
            self.jitter_pairs += 1
        if self.count:  # the first sample's shift is measured across the cut
            self._last_shift = sample.shift
        slot = self.count // self.slot_width
        self.count += 1
        if slot == len(self.slots):
            self.slots.append(sample)
        elif sample.sharpness > self.slots[slot].sharpness * REPLACE_GAIN:
            self.slots[slot] = sample
        if len(self.slots) > SLOTS:  # halve the resolution: keep the sharper of each pair
            pairs = [self.slots[i : i + 2] for i in range(0, len(self.slots), 2)]
            self.slots = [max(pair, key=lambda s: s.sharpness) for pair in pairs]
            self.slot_width *= 2

    def mean(self, key: str) -> float:
        count = {"motion": self.count - 1, "jitter": self.jitter_pairs}.get(key, self.count)
        return self.sums[key] / count if count > 0 else 0.0

    def detail(self) -> float:
        """Edge energy at the analysis size over that at half the size (sums over the shot): a sharp
        picture keeps about as much at full size (0.84 and up on the calibration set), a blurred one
        a third or less (0.18-0.38); independent of exposure and contrast, unlike the Laplacian's variance itself."""
        coarse = self.sums["coarse"]
        return self.sums["sharpness"] / coarse if coarse > 0 else 1.0

    def keyframe(self) -> Sample | None:
        """The sharpest candidate in the middle half of the shot (else the one nearest the middle)."""
        if not self.slots:
            return None
        length = self.end - self.start + 1
        low, high = self.start + 0.25 * length, self.start + 0.75 * length
        middle = [s for s in self.slots if low <= s.index <= high]
        if middle:
            return max(middle, key=lambda s: s.sharpness)
        centre = self.start + length / 2
        return min(self.slots, key=lambda s: abs(s.index - centre))


class ShotSplitter:
    """Feed samples in order; finished shots come out of ``on_shot`` as soon as they are known."""

    def __init__(self, on_shot: Callable[[Shot], None], on_sample: Callable[[Sample], None]):
        self.on_shot, self.on_sample = on_shot, on_sample
        self.pending: deque[Sample] = deque()
        self.recent: deque[float] = deque(maxlen=WINDOW)
        self.ref: Sample | None = None  # the last stable (non-flash) sample
        self.flash_until = -1
        self.shot: Shot | None = None
        self.cuts: list[int] = []

    def push(self, sample: Sample) -> None:
        self.pending.append(sample)
        if len(self.pending) > LOOKAHEAD:
            self._decide(self.pending.popleft())

    def finish(self) -> None:
        while self.pending:
            self._decide(self.pending.popleft())
        if self.shot is not None:
            self._close()

    def _decide(self, sample: Sample) -> None:
        if self.shot is None:  # the first shot starts at the first frame decoded (0 unless the start was lost)
            self.shot = Shot(index=0, start=sample.index)
        elif sample.index <= self.flash_until:
            sample.flash = True
        else:
            self._judge(sample)
        self.shot.add(sample)
        if not sample.flash:
            self.ref = sample
        self.on_sample(sample)
        if not self._maybe_candidate(sample):
            sample.forget()  # only keyframe candidates keep their frame past the decision

    def _judge(self, sample: Sample) -> None:
        score = distance(self.ref, sample)
        threshold = adaptive_threshold(self.recent)
        if score < threshold:
            self.recent.append(score)
            return
        ahead = list(self.pending)
        for later in ahead:
            if distance(self.ref, later) < threshold / 2:  # came back: a flash, not a cut
                sample.flash = True
                self.flash_until = later.index - 1
                return
        if ahead and distance(sample, ahead[0]) > score / 2:
            self.recent.append(min(score, threshold))  # not a peak: unsettled content, no cut yet
            return
        self._close(next_start=sample.index)

    def _close(self, next_start: int | None = None) -> None:
        shot = self.shot
        if shot.samples < MIN_SHOT_SAMPLES:
            if next_start is not None:  # joins the shot that starts here: same number, same start
                self.shot = Shot(index=shot.index, start=shot.start)
                self.recent.clear()
                return
            if self.cuts:  # the last "shot": the one before runs on to the end (the pass extends it)
                self.cuts.pop()
                return
        if next_start is not None:
            shot.end = next_start - 1
        self.on_shot(shot)
        shot.slots = []
        if next_start is not None:
            self.cuts.append(next_start)
            self.shot = Shot(index=shot.index + 1, start=next_start)
            self.recent.clear()

    def _maybe_candidate(self, sample: Sample) -> bool:
        return any(s is sample for s in self.shot.slots)
