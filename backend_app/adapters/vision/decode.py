"""The one streaming decode pass: every frame is decoded once, sampled frames are analysed.

``cap.grab()`` decodes every frame (the decoder needs them all); ``retrieve()`` (the colour
conversion) runs only for the frames analysed, every ``stride``-th one. A reader thread grabs,
retrieves and reduces the frames (OpenCV releases the GIL for all three) while the calling
thread measures them and splits shots, so on two cores decoding and analysis overlap; the queue
between them is bounded, so memory stays flat. Per shot only a few keyframe candidates are kept,
finished shots leave as small records and a keyframe JPEG on disk, and the timeline is averaged
into a bounded series.
"""

from __future__ import annotations

import math
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import cv2

from ...jobs.errors import JobFailure
from .probe import Limits, VideoMetadata, open_capture
from .shots import Shot, ShotSplitter
from .signals import Sample, link, measure, reduce

TIMELINE_POINTS = 240
BLACK_BRIGHTNESS, BLACK_CONTRAST = 0.06, 0.03
FROZEN_MOTION = 0.0015  # mean luma change per frame below which the picture is frozen
KEYFRAME_QUALITY = 92
QUEUE_FRAMES = 4  # reduced frames in flight between the reader thread and the analysis

ProgressFn = Callable[[int, int], None]
ShotFn = Callable[["ShotRecord"], None]


@dataclass
class ShotRecord:
    index: int
    start_frame: int
    end_frame: int  # inclusive
    brightness: float
    contrast: float
    motion: float
    sharpness: float
    jitter: float
    flashes: int
    keyframe_path: str | None
    keyframe_frame: int | None


@dataclass
class Runs:
    """Stretches where a condition holds (black frames, frozen picture), as (start_s, end_s)."""

    min_s: float
    spans: list = field(default_factory=list)
    _start: float | None = None
    _last: float = 0.0

    def feed(self, t: float, on: bool) -> None:
        if on and self._start is None:
            self._start = t
        elif not on and self._start is not None:
            self._end(self._last)
        self._last = t

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
            self.points = [_merge(self.points[i:i + 2]) for i in range(0, len(self.points), 2)]
            self.bucket *= 2

    def _flush(self) -> None:
        if self._acc:
            self.points.append(_merge([{"t": a[0], "brightness": a[1], "motion": a[2], "sharpness": a[3]}
                                       for a in self._acc]))
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
    samples: int
    stride: int
    shots: list[ShotRecord]
    cuts: list[int]
    timeline: list[dict]
    black: list[tuple[float, float]]
    frozen: list[tuple[float, float]]
    decode_s: float


class _Pass:
    """State of one pass; the public entry point is ``decode_pass``."""

    def __init__(self, meta: VideoMetadata, stride: int, outdir: str, on_shot: ShotFn | None = None):
        self.meta, self.stride, self.outdir, self.on_shot = meta, stride, outdir, on_shot
        expected = max(1, (meta.frame_count or int(meta.fps * 60)) // stride)
        self.timeline = Timeline(bucket=max(1, math.ceil(expected / TIMELINE_POINTS)))
        self.black = Runs(min_s=0.5)
        self.frozen = Runs(min_s=2.0)
        self.records: list[ShotRecord] = []
        self.prev: Sample | None = None
        self.samples = 0
        self.splitter = ShotSplitter(on_shot=self.finish_shot, on_sample=self.on_sample)

    def on_sample(self, sample: Sample) -> None:
        self.timeline.feed(sample)
        self.black.feed(sample.t, sample.brightness < BLACK_BRIGHTNESS and sample.contrast < BLACK_CONTRAST)
        self.frozen.feed(sample.t, sample.index > 0 and sample.motion < FROZEN_MOTION)

    def finish_shot(self, shot: Shot) -> None:
        key = shot.keyframe()
        path = None
        if key is not None and key.view is not None:
            path = os.path.join(self.outdir, f"keyframe_{shot.index}.jpg")
            cv2.imwrite(path, key.view, [cv2.IMWRITE_JPEG_QUALITY, KEYFRAME_QUALITY])
        self.records.append(ShotRecord(
            index=shot.index, start_frame=shot.start, end_frame=shot.end, brightness=shot.mean("brightness"),
            contrast=shot.mean("contrast"), motion=shot.mean("motion"), sharpness=shot.mean("sharpness"),
            jitter=shot.mean("jitter"), flashes=shot.flashes, keyframe_path=path,
            keyframe_frame=key.index if key is not None else None))
        if self.on_shot:
            self.on_shot(self.records[-1])

    def feed(self, view, small, index: int) -> None:
        sample = measure(view, small, index, self.meta.fps)
        self.samples += 1
        if self.prev is not None:
            link(self.prev, sample)
        self.prev = sample
        self.splitter.push(sample)


def decode_pass(path: str, meta: VideoMetadata, limits: Limits, outdir: str, stride: int = 2,
                on_progress: ProgressFn | None = None, on_shot: ShotFn | None = None) -> PassResult:
    """Decode ``path`` once; analyse every ``stride``-th frame; write one keyframe JPEG per shot.

    ``on_shot`` gets each shot's record as soon as the shot is closed (its keyframe JPEG written),
    while decoding goes on; the last shot's ``end_frame`` is settled only when the pass ends.
    """
    os.makedirs(outdir, exist_ok=True)
    state = _Pass(meta, max(1, stride), outdir, on_shot)
    cap = open_capture(path)
    started = time.perf_counter()
    frames: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)
    stop = threading.Event()
    reader = threading.Thread(target=_read, args=(cap, state.stride, meta.fps, limits, frames, stop),
                              name="video-reader", daemon=True)
    reader.start()
    reported = 0
    try:
        while True:
            item = frames.get()
            if isinstance(item, BaseException):
                raise item
            if isinstance(item, int):  # the end: how many frames were decoded
                total = item
                break
            index, view, small = item
            state.feed(view, small, index)
            if on_progress and index - reported >= 250:
                reported = index
                on_progress(index, meta.frame_count)
    finally:
        stop.set()
        while reader.is_alive():  # unblock a reader waiting on a full queue, then let it finish
            try:
                frames.get(timeout=0.05)
            except queue.Empty:
                pass
        reader.join()
        cap.release()
    return _result(state, total, time.perf_counter() - started)


def _read(cap, stride: int, fps: float, limits: Limits, out: queue.Queue, stop: threading.Event) -> None:
    """Reader thread: grab every frame, retrieve and reduce every ``stride``-th; ends with the count."""
    index = 0
    try:
        while not stop.is_set() and cap.grab():
            if index % stride == 0:
                ok, frame = cap.retrieve()
                if ok and frame is not None:
                    view, small = reduce(frame)
                    out.put((index, view, small))
            index += 1
            if index > limits.max_frames or index / fps > limits.max_duration_s:
                raise JobFailure("VIDEO_TOO_LONG", "The video is longer than the limit allows.")
        out.put(index)
    except BaseException as exc:  # handed to the analysing thread, which raises it
        out.put(exc)


def _result(state: _Pass, frames: int, elapsed: float) -> PassResult:
    if state.prev is None:
        raise JobFailure("VIDEO_UNREADABLE", "No frame of the video could be decoded.")
    if state.meta.frame_count and frames < state.meta.frame_count / 2:
        raise JobFailure("VIDEO_UNREADABLE", f"The video ends after {frames} of its {state.meta.frame_count} "
                                             "frames: the file is damaged or truncated.")
    state.splitter.finish()
    end_t = frames / state.meta.fps
    state.black.close(end_t)
    state.frozen.close(end_t)
    if state.records:
        state.records[-1].end_frame = frames - 1
    return PassResult(frames=frames, samples=state.samples,
                      stride=state.stride, shots=state.records, cuts=state.splitter.cuts,
                      timeline=state.timeline.result(), black=state.black.spans, frozen=state.frozen.spans,
                      decode_s=round(elapsed, 4))
