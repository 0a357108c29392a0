"""Still moments in the decode pass: where the picture holds still long enough to read (a slide, a
sign, a subtitle), one frame is handed on, and another only when the content changed since.

Judged from the pass's own per-sample signals (motion, the analysis-size luma), so picking costs
nothing beyond a comparison of two 160-pixel-wide pictures per sample while the picture is still.
"""

from __future__ import annotations

from backend_app.adapters.vision.signals import Sample, changed_share

# Mean luma change per frame (0-1) under which the picture holds still: a slide or a paused
# picture measures ~0.00001, while a small thing moving over a still background (a presenter, a
# square crossing a tenth of the picture) measures ~0.004 and would hand on a picture every second.
STILL_MOTION = 0.0015
STILL_SETTLE_S = 0.4  # … for this long before a frame is handed on (not mid-transition)
# The share of analysis pixels changed since the last still handed on that makes the content new:
# a new subtitle line on a 160x90 analysis picture changes ~0.5-2 % of it; coding noise ~0.
STILL_CHANGED = 0.004
STILL_GAP_S = 1.0  # at most one still per this many seconds of video


class StillPicker:
    """Feed every sample in order; ``wants(sample)`` says whether to hand its picture on."""

    def __init__(self, gap_s: float = STILL_GAP_S):
        self.gap_s = gap_s
        self.since: float | None = None  # when the picture last started holding still
        self.last_t: float | None = None  # the last still handed on …
        self.last_gray = None  # … and its analysis luma
        self.offered = 0

    def wants(self, sample: Sample) -> bool:
        if sample.motion >= STILL_MOTION or sample.flash or sample.black or sample.flat:
            self.since = None
            return False
        if self.since is None:
            self.since = sample.t
        if sample.t - self.since < STILL_SETTLE_S:
            return False
        if self.last_t is not None and sample.t - self.last_t < self.gap_s:
            return False
        if self.last_gray is not None and changed_share(self.last_gray, sample.gray) < STILL_CHANGED:
            return False  # the same picture as the last still: nothing new to read
        self.last_t, self.last_gray = sample.t, sample.gray
        self.offered += 1
        return True
