"""The one streaming decode pass: frames are decoded once, in order; sampled frames are analysed.

``stride`` is the widest gap, in frames, between two analysed frames. With stride 1 every frame
is decoded and analysed (cuts are exact). With stride >= 2 the decoder skips non-reference
frames (frames.py: about half of an H.264 stream, at no decoding cost) and, of the frames it
does decode, as few are analysed as keep every gap within ``stride``; a stream whose decoded
frames come further apart than that makes the decoder decode everything from then on.

A reader thread only feeds the decoder (libavcodec releases the GIL) and hands on the planes of
the frames to analyse, while the calling thread makes each one's small image, measures it and
splits shots: on two cores decoding and analysis overlap, and the decoder is never kept waiting
by image work; the queue between them is bounded, so memory stays flat. A
sample keeps its decoded frame only while it is a keyframe candidate (a few per shot); the
keyframe's picture is made from it when the shot closes and handed, with the shot's small record,
to ``on_shot``; the timeline is averaged into a bounded series. Where the picture holds still
(stills.py), ``on_still`` gets that moment's picture too (for reading on-screen text).
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from backend_app.adapters.vision import signals
from backend_app.adapters.vision.errors import VisionError
from backend_app.adapters.vision.frames import (
    FrameSource,
    colour_matrix,
    halve_to,
    opencv_threads,
    planes,
    square_pixels,
    upright,
)
from backend_app.adapters.vision.preview import Preview
from backend_app.adapters.vision.probe import Limits, VideoMetadata
from backend_app.adapters.vision.shots import Shot, ShotSplitter
from backend_app.adapters.vision.signals import KEY_MAX_SIDE, Sample, analysis_image, changed_share, link, measure
from backend_app.adapters.vision.stills import STILL_GAP_S, StillPicker

TIMELINE_POINTS = 240
FROZEN_MIN_S, BLACK_MIN_S = 2.0, 0.5  # the shortest stretch reported
FROZEN_MOTION = 0.0015  # mean luma change per frame below which the picture is frozen …
FROZEN_CHANGED = 0.002  # … and no more than this share of its pixels changed since the stretch began
# The per-frame levels the pass judged by, handed on with its result (the report says what was measured).
LEVELS = {
    "analysis_width": signals.ANALYSIS_WIDTH,
    "dark_highlights": signals.DARK_HIGHLIGHTS,
    "black_brightness": signals.BLACK_BRIGHTNESS,
    "black_contrast": signals.BLACK_CONTRAST,
    "black_min_s": BLACK_MIN_S,
    "frozen_motion": FROZEN_MOTION,
    "frozen_changed": FROZEN_CHANGED,
    "frozen_min_s": FROZEN_MIN_S,
}
MAX_GAP_S = 0.1  # however wide the stride, analysed frames are at most this far apart (1 fps timelapses: every frame)
# Decoded frames in flight between the reader thread and the analysis: four 1080p frames' worth of
# bytes (a 10-minute 1080p pass stays under 300 MB), at most 32 frames. Small frames need the room:
# the analysis takes them unevenly (a shot's keyframe picture, the inspecting thread), and with
# only four in flight the reader waited and its core idled (360p minute, 2 cores: 1.48 -> 1.26 s).
QUEUE_BYTES, QUEUE_FRAMES_MAX = 4 * 1920 * 1080 * 3 // 2, 32
# A pass that also writes a preview holds the encoder's frames too (preview.IN_FLIGHT, x264's own):
# two decoder threads fewer keep a 10-minute 1080p pass near its memory without one (each
# thread holds ~8 MB of frames at 1080p), and the encoder wants the cores anyway.
PREVIEW_FEWER_THREADS = 2

ProgressFn = Callable[[int, int], None]
ShotFn = Callable[["ShotRecord", np.ndarray | None], None]
StillFn = Callable[[float, np.ndarray], None]


@dataclass
class ShotRecord:
    index: int
    start_frame: int
    end_frame: int  # inclusive
    brightness: float
    median: float  # median luma, 0-1, averaged over the shot's samples
    highlights: float  # 95th-percentile luma, 0-1, averaged likewise
    dark_share: float  # the share of its samples that were dark (signals.Sample.dark)
    contrast: float
    motion: float
    sharpness: float
    detail: float  # fine over coarse edge energy (shots.Shot.detail): low when the picture is blurred
    jitter: float
    flashes: int
    keyframe_frame: int | None  # the frame whose picture went to ``on_shot`` (None: the shot had none)


@dataclass
class Runs:
    """Stretches where a condition holds (black frames, frozen picture), as (start_s, end_s)."""

    min_s: float
    spans: list = field(default_factory=list)
    _start: float | None = None

    def feed(self, t: float, on: bool, since: float | None = None) -> None:
        """The condition at ``t``; ``since``: when a stretch starting here began (default ``t``)."""
        if on and self._start is None:
            self._start = t if since is None else since
        elif not on and self._start is not None:
            self._end(t)  # it lasted until this sample showed otherwise (a 1 fps black second is 1 s, not 0)

    def close(self, t: float) -> None:
        if self._start is not None:
            self._end(t)

    def _end(self, t: float) -> None:
        if t - self._start >= self.min_s:
            self.spans.append((round(self._start, 3), round(t, 3)))
        self._start = None


@dataclass
class Timeline:
    """Bucket averages of the per-sample signals, merged pairwise when it grows too long."""

    bucket: int
    points: list = field(default_factory=list)
    _acc: list = field(default_factory=list)

    def feed(self, sample: Sample) -> None:
        self._acc.append((sample.t, sample.brightness, sample.motion, sample.sharpness))
        if len(self._acc) >= self.bucket:
            self._flush()
        if len(self.points) >= 2 * TIMELINE_POINTS:
            self.points = [_merge(self.points[i : i + 2]) for i in range(0, len(self.points), 2)]
            self.bucket *= 2

    def _flush(self) -> None:
        if self._acc:
            self.points.append(
                _merge([{"t": a[0], "brightness": a[1], "motion": a[2], "sharpness": a[3]} for a in self._acc])
            )
            self._acc = []

    def result(self) -> list[dict]:
        self._flush()
        return [{k: round(v, 4) for k, v in p.items()} for p in self.points]


def _merge(points: list[dict]) -> dict:
    n = len(points)
    return {"t": points[0]["t"], **{k: sum(p[k] for p in points) / n for k in ("brightness", "motion", "sharpness")}}


@dataclass
class PassResult:
    frames: int
    decoded: int  # frames the decoder decoded (the others were non-reference frames it skipped)
    samples: int
    stride: int
    shots: list[ShotRecord]
    cuts: list[int]
    timeline: list[dict]
    black: list[tuple[float, float]]
    frozen: list[tuple[float, float]]
    decode_s: float
    damaged_packets: int = 0  # coded frames the decoder could not read (passed over)
    damaged: list[tuple[float, float]] = field(default_factory=list)  # where they were, as (start_s, end_s)
    levels: dict = field(default_factory=lambda: dict(LEVELS))  # what a dark, black, frozen frame was
    first_frame: int = 0  # the first frame decoded (over 0: the start could not be decoded)
    end_frame: int = 0  # one past the last frame decoded (under ``frames``: the end could not be)
    stills: int = 0  # still pictures handed to ``on_still``


@dataclass
class _End:
    """What the reader hands on last: frames in the video, frames decoded, times of damaged packets,
    the first frame's index and one past the last one's."""

    frames: int
    decoded: int
    damaged: list[float]
    first: int = 0
    end: int = 0


class _Pass:
    """State of one pass; the public entry point is ``decode_pass``."""

    def __init__(
        self,
        meta: VideoMetadata,
        stride: int,
        on_shot: ShotFn | None = None,
        on_still: StillFn | None = None,
        still_gap_s: float = STILL_GAP_S,
    ):
        self.meta, self.stride, self.on_shot, self.on_still = meta, stride, on_shot, on_still
        self.stills = StillPicker(still_gap_s) if on_still is not None else None
        expected = max(1, (meta.frame_count or int(meta.fps * 60)) // stride)
        self.timeline = Timeline(bucket=max(1, math.ceil(expected / TIMELINE_POINTS)))
        self.black = Runs(min_s=BLACK_MIN_S)
        self.frozen = Runs(min_s=FROZEN_MIN_S)
        self.records: list[ShotRecord] = []
        self.prev: Sample | None = None
        self.last_t: float | None = None  # the time of the sample on_sample saw last
        self.still: np.ndarray | None = None  # the luma a frozen stretch is compared with
        self.samples = 0
        self.splitter = ShotSplitter(on_shot=self.finish_shot, on_sample=self.on_sample)

    def on_sample(self, sample: Sample) -> None:
        self.timeline.feed(sample)
        self.black.feed(sample.t, sample.black)
        # Frozen: hardly a change from the previous sample, and almost no pixel changed since the
        # stretch began (a small thing moving slowly changes little from one sample to the next).
        frozen = (
            self.still is not None
            and sample.motion < FROZEN_MOTION
            and changed_share(self.still, sample.gray) < FROZEN_CHANGED
        )
        if not frozen:
            self.still = sample.gray  # the picture a stretch starting after this sample must keep
        # A frozen sample shows the previous one's picture: the stretch starts there.
        self.frozen.feed(sample.t, frozen, since=self.last_t)
        self.last_t = sample.t
        if self.stills is not None and self.stills.wants(sample):
            picture = sample.picture()  # made before the splitter forgets a non-candidate's frame
            if picture is not None:
                self.on_still(sample.t, picture)

    def finish_shot(self, shot: Shot) -> None:
        key = shot.keyframe()
        picture = key.picture() if key is not None else None
        self.records.append(
            ShotRecord(
                index=shot.index,
                start_frame=shot.start,
                end_frame=shot.end,
                brightness=shot.mean("brightness"),
                median=shot.mean("median"),
                highlights=shot.mean("highlights"),
                dark_share=shot.mean("dark"),
                contrast=shot.mean("contrast"),
                motion=shot.mean("motion"),
                sharpness=shot.mean("sharpness"),
                detail=shot.detail(),
                jitter=shot.mean("jitter"),
                flashes=shot.flashes,
                keyframe_frame=key.index if picture is not None else None,
            )
        )
        if self.on_shot:
            self.on_shot(self.records[-1], picture)
        if key is not None:
            key.forget()

    def feed(self, small, index: int, source) -> None:
        sample = measure(small, index, self.meta.fps, source)
        self.samples += 1
        if self.prev is not None:
            link(self.prev, sample)
        self.prev = sample
        self.splitter.push(sample)


def decode_pass(
    path: str,
    meta: VideoMetadata,
    limits: Limits,
    stride: int = 2,
    on_progress: ProgressFn | None = None,
    on_shot: ShotFn | None = None,
    preview: Preview | None = None,
    on_still: StillFn | None = None,
    still_gap_s: float = STILL_GAP_S,
) -> PassResult:
    """Decode ``path`` once; analyse frames at most ``stride`` apart; pick one keyframe per shot.

    ``on_shot`` gets each shot's record and its keyframe's BGR picture (at most KEY_MAX_SIDE
    large; None if the shot has none) as soon as the shot is closed, while decoding goes on; the
    pass keeps no picture after that. The last shot's ``end_frame`` is settled only when the pass ends.
    ``preview`` gets every decoded frame when it encodes them (the decoder then skips none, so the
    rendition is smooth; a preview that copies the source's packets needs none); the caller closes
    it. ``on_still`` gets ``(t, picture)`` where the picture holds still (stills.py: at most one
    per ``still_gap_s``, and only when it changed since the last one), on the pass's thread: it
    should hand the picture on rather than work on it there.
    """
    state = _Pass(meta, max(1, min(stride, int(meta.fps * MAX_GAP_S))), on_shot, on_still, still_gap_s)
    encoder = preview if preview is not None and preview.needs_frames else None
    source = FrameSource(
        path, skip=state.stride > 1 and encoder is None, fewer_threads=PREVIEW_FEWER_THREADS if encoder else 0
    )
    started = time.perf_counter()
    frames: queue.Queue = queue.Queue(maxsize=queue_frames(meta.width, meta.height))
    stop = threading.Event()
    reader = threading.Thread(
        target=_read,
        args=(source, state.stride, meta.fps, limits, frames, stop, encoder),
        name="video-reader",
        daemon=True,
    )
    with opencv_threads(1):
        reader.start()
        try:
            end = _drain(state, frames, meta, on_progress)
        finally:
            stop.set()
            while reader.is_alive():  # unblock a reader waiting on a full queue, then let it finish
                try:
                    frames.get(timeout=0.05)
                except queue.Empty:
                    pass
            reader.join()
            source.close()
        return _result(state, end, time.perf_counter() - started)


def queue_frames(width: int, height: int) -> int:
    """How many decoded 4:2:0 frames of this size may wait for the analysis (at least four)."""
    return max(4, min(QUEUE_FRAMES_MAX, QUEUE_BYTES // max(1, width * height * 3 // 2)))


def _drain(state: _Pass, frames: queue.Queue, meta: VideoMetadata, on_progress: ProgressFn | None) -> _End:
    """Analyse what the reader hands on until its end."""
    reported = 0
    while True:
        item = frames.get()
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, _End):
            return item
        index, yuv, picture = item
        state.feed(analysis_image(*yuv), index, picture)
        if on_progress and index - reported >= 250:
            reported = index
            on_progress(index, meta.frame_count)


def _read(
    source: FrameSource,
    stride: int,
    fps: float,
    limits: Limits,
    out: queue.Queue,
    stop: threading.Event,
    preview: Preview | None = None,
) -> None:
    """Reader thread: decode, pick the frames to analyse, hand on their planes; ends with the count.

    A decoded frame is held (not converted) until the next one shows whether it is needed to keep
    the gaps within ``stride``.
    """

    def send(index: int, frame) -> None:
        y, u, v = planes(frame)
        rotation = frame.rotation  # the picture is turned upright; the signals do not depend on it
        matrix = colour_matrix(frame)  # keyframe colours as coded (HD is BT.709); the signals use BT.601
        out.put(
            (
                index,
                (y, u, v),
                lambda: upright(square_pixels(halve_to(y, u, v, KEY_MAX_SIDE, matrix), aspect), rotation),
            )
        )

    aspect = source.pixel_aspect

    last = decoded = first = -1  # the last analysed, the last decoded and the first decoded frame index
    held = None
    try:
        for t, frame in source.frames():
            if stop.is_set():
                break
            if source.packets > limits.max_frames or source.packets / fps > limits.max_duration_s:
                raise VisionError("VIDEO_TOO_LONG", "The video is longer than the limit allows.")
            if preview is not None:
                preview.add(frame)
            # Frame numbers are times at the nominal rate, so they stay times when the rate varies
            # (screen recordings, joined clips): a frame in the slot of an earlier one (a faster
            # stretch, a rate a little off, out of order after damaged data) is not analysed, and
            # the pass counts it all the same.
            index = round(t * fps) if math.isfinite(t) else decoded + 1
            if index <= decoded:
                continue
            decoded = index
            first = index if first < 0 else first
            if last >= 0 and index - last > stride and held is not None:
                send(*held)
                last, held = held[0], None
            if last >= 0 and index - last > stride:
                source.stop_skipping()  # the stream skips more than the sampling allows
            if last < 0 or index - last >= stride:
                send(index, frame)
                last, held = index, None  # a frame held before this one is never sent after it
            else:
                held = (index, frame)
        if held is not None and not stop.is_set():
            send(*held)
        out.put(
            _End(max(source.packets, decoded + 1), source.decoded, list(source.damaged), max(0, first), decoded + 1)
        )
    except BaseException as exc:  # handed to the analysing thread, which raises it
        out.put(exc)


def _result(state: _Pass, end: _End, elapsed: float) -> PassResult:
    frames = end.frames
    if state.prev is None:
        raise VisionError("VIDEO_UNREADABLE", "No frame of the video could be decoded.")
    if len(end.damaged) > frames / 2:
        raise VisionError(
            "VIDEO_UNREADABLE",
            f"{len(end.damaged)} of the video's {frames} frames could not be decoded: the file is damaged.",
        )
    declared = state.meta.frame_count if state.meta.length_known else frames
    if end.end - end.first < declared / 2:  # the existing rule: under half the video decoded is refused
        fps = state.meta.fps
        said = (
            f"The video ends after {end.end} of its {declared} frames"
            if end.first == 0
            else f"Only frames {end.first}-{end.end - 1} of its {declared} could be decoded"
        )
        raise VisionError(
            "VIDEO_UNREADABLE",
            f"{said} ({(end.end - end.first) / fps:.1f} of {declared / fps:.1f} s, under half): "
            "the file is damaged or truncated.",
        )
    state.splitter.finish()
    end_t = frames / state.meta.fps
    state.black.close(end_t)
    state.frozen.close(end_t)
    if state.records:
        state.records[-1].end_frame = frames - 1
    return PassResult(
        frames=frames,
        decoded=end.decoded,
        samples=state.samples,
        stride=state.stride,
        shots=state.records,
        cuts=state.splitter.cuts,
        timeline=state.timeline.result(),
        black=state.black.spans,
        frozen=state.frozen.spans,
        decode_s=round(elapsed, 4),
        damaged_packets=len(end.damaged),
        damaged=_spans(end.damaged),
        first_frame=end.first,
        end_frame=end.end,
        stills=state.stills.offered if state.stills is not None else 0,
    )


def _spans(times: list[float], join_s: float = 1.0) -> list[tuple[float, float]]:
    """Times merged into (start, end) stretches; times less than ``join_s`` apart join one stretch."""
    spans: list[list[float]] = []
    for t in sorted(t for t in times if math.isfinite(t)):
        if spans and t - spans[-1][1] < join_s:
            spans[-1][1] = t
        else:
            spans.append([t, t])
    return [(round(max(0.0, a), 3), round(max(0.0, b), 3)) for a, b in spans]
