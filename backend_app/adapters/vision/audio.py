"""The audio track of a video: what it is (codec, channels, rate, duration) and how loud it is over time.

PyAV demuxes only the audio stream and decodes it (no system ffmpeg); each decoded frame's
squared samples, averaged over its channels, are added into fixed windows of WINDOW_S by the
samples' times. Loudness is RMS in dBFS per window (a full-scale square wave is
0 dBFS, a full-scale sine -3 dBFS), with digital silence at FLOOR_DBFS. The track is silent when no
window reaches SILENCE_DBFS; stretches of at least SILENCE_MIN_S under it are the silences. The
curve handed on is bounded: windows are joined (their power averaged) to at most MAX_POINTS.
A track that cannot be decoded is described as far as the container says, with ``decoded`` False:
the video is still analysed.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import av
import numpy as np

WINDOW_S = 0.5
MAX_POINTS = 240
FLOOR_DBFS = -100.0
SILENCE_DBFS = -50.0  # quieter than room tone in a recording; speech sits at -40 to -15
SILENCE_MIN_S = 2.0


@dataclass
class AudioTrack:
    codec: str
    channels: int
    sample_rate: int
    duration_s: float | None  # as decoded (as the stream declares when it could not be decoded)
    decoded: bool = True
    loudness: list[dict] = field(default_factory=list)  # [{t, dbfs}], at most MAX_POINTS, t = window start
    window_s: float = WINDOW_S  # the width of one point of ``loudness``
    peak_dbfs: float = FLOOR_DBFS  # the loudest WINDOW_S window
    silent: bool = False
    silences: list[tuple[float, float]] = field(default_factory=list)
    decode_s: float = 0.0
    note: str = ""  # why the track could not be decoded

    def to_dict(self) -> dict:
        return {
            "codec": self.codec,
            "channels": self.channels,
            "sample_rate": self.sample_rate,
            "duration_s": self.duration_s,
            "decoded": self.decoded,
            "loudness": self.loudness,
            "window_s": self.window_s,
            "peak_dbfs": self.peak_dbfs,
            "silent": self.silent,
            "silence_dbfs": SILENCE_DBFS,
            "silences": [list(s) for s in self.silences],
            "decode_s": self.decode_s,
            **({"note": self.note} if self.note else {}),
        }


def audio_track(path: str) -> AudioTrack | None:
    """The first audio stream of ``path`` measured, or None when the file has no audio stream."""
    started = time.perf_counter()
    try:
        container = av.open(path)
    except (av.FFmpegError, OSError, ValueError):
        return None  # the video side refuses such a file with its own code
    with container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        track = _described(stream)
        try:
            sums, counts = _window_power(container, stream)
        except (av.FFmpegError, ValueError, MemoryError) as exc:
            track.decoded, track.note = False, f"The audio could not be decoded: {exc}"
            track.decode_s = round(time.perf_counter() - started, 4)
            return track
    _measure(track, sums, counts)
    track.decode_s = round(time.perf_counter() - started, 4)
    return track


def _described(stream) -> AudioTrack:
    ctx = stream.codec_context
    declared = None
    if stream.duration is not None and stream.time_base is not None:
        declared = float(stream.duration * stream.time_base)
    return AudioTrack(
        codec=ctx.name or "unknown",
        channels=int(ctx.channels or 0),
        sample_rate=int(ctx.sample_rate or stream.rate or 0),
        duration_s=round(declared, 3) if declared and math.isfinite(declared) and declared > 0 else None,
    )


def _window_power(container, stream) -> tuple[np.ndarray, np.ndarray]:
    """Per WINDOW_S window: the sum of squared samples (averaged over channels) and how many samples."""
    sums, counts = np.zeros(64), np.zeros(64)
    position = 0.0  # where the next sample falls when a frame carries no time
    for packet in container.demux(stream):
        for frame in packet.decode():
            start = frame.time if frame.time is not None else position
            sums, counts = _add(sums, counts, frame, max(0.0, start))
            position = start + frame.samples / (frame.sample_rate or 1)
    return sums, counts


def _samples(frame) -> np.ndarray:
    """The frame's samples as floats in [-1, 1] (any layout: planar or interleaved, the channels together)."""
    data = frame.to_ndarray()
    if data.dtype.kind == "f":
        return data.astype(np.float32, copy=False).ravel()
    if data.dtype == np.uint8:  # 8-bit PCM is offset
        return (data.astype(np.float32).ravel() - 128.0) / 128.0
    return data.astype(np.float32).ravel() / float(np.iinfo(data.dtype).max)


def _add(sums: np.ndarray, counts: np.ndarray, frame, start: float) -> tuple[np.ndarray, np.ndarray]:
    samples, rate = _samples(frame), frame.sample_rate or 1
    count = frame.samples
    if not count or not samples.size:
        return sums, counts
    channels = samples.size / count
    last = int((start + count / rate) / WINDOW_S) + 1
    if last > sums.size:  # grow by doubling: one copy per doubling of the length, not one per frame
        size = max(last, 2 * sums.size)
        sums, counts = np.pad(sums, (0, size - sums.size)), np.pad(counts, (0, size - counts.size))
    if count / rate <= WINDOW_S / 4:  # a codec frame (AAC: 21 ms) goes whole into the window of its middle
        window = int((start + count / rate / 2) / WINDOW_S)
        sums[window] += float(np.dot(samples, samples)) / channels
        counts[window] += count
        return sums, counts
    power = np.square(samples.reshape(-1, count) if frame.format.is_planar else samples.reshape(count, -1).T)
    power = power.mean(axis=0)  # a long frame (PCM in large packets) is spread over its windows sample by sample
    windows = ((start + np.arange(count) / rate) / WINDOW_S).astype(np.int64)
    sums[: windows[-1] + 1] += np.bincount(windows, weights=power)
    counts[: windows[-1] + 1] += np.bincount(windows)
    return sums, counts


def _dbfs(mean_square: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.maximum(FLOOR_DBFS, 10 * np.log10(mean_square))


def _measure(track: AudioTrack, sums: np.ndarray, counts: np.ndarray) -> None:
    heard = counts > 0
    if not heard.any():
        track.decoded, track.note = False, "The audio stream holds no samples."
        return
    last = int(np.flatnonzero(heard)[-1]) + 1
    sums, counts = sums[:last], counts[:last]
    levels = _dbfs(np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0))
    levels[counts == 0] = FLOOR_DBFS  # a gap in the stream is no sound
    track.duration_s = round(float(counts.sum()) / max(1, track.sample_rate), 3) or track.duration_s
    track.peak_dbfs = round(float(levels.max()), 1)
    track.silent = track.peak_dbfs < SILENCE_DBFS
    track.silences = _quiet_stretches(levels < SILENCE_DBFS, track.duration_s or last * WINDOW_S)
    join = max(1, math.ceil(last / MAX_POINTS))
    track.window_s = WINDOW_S * join
    joined_sums = np.add.reduceat(sums, np.arange(0, last, join))
    joined_counts = np.add.reduceat(counts, np.arange(0, last, join))
    joined = _dbfs(np.divide(joined_sums, joined_counts, out=np.zeros_like(joined_sums), where=joined_counts > 0))
    track.loudness = [{"t": round(i * track.window_s, 3), "dbfs": round(float(v), 1)} for i, v in enumerate(joined)]


def _quiet_stretches(quiet: np.ndarray, end_s: float) -> list[tuple[float, float]]:
    spans, start = [], None
    for i, q in enumerate([*quiet.tolist(), False]):
        if q and start is None:
            start = i
        elif not q and start is not None:
            span = (round(start * WINDOW_S, 3), round(min(end_s, i * WINDOW_S), 3))
            if span[1] - span[0] >= SILENCE_MIN_S:
                spans.append(span)
            start = None
    return spans
