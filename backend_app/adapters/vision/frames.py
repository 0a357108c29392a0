"""The decoded frames of the analysis pass, read with PyAV, and the small images made from their planes.

PyAV (FFmpeg's libavcodec, bundled in its wheels) and not OpenCV's VideoCapture decodes the
pass because it exposes two things VideoCapture does not:

- ``skip_frame``: the decoder can drop non-reference frames without decoding them. With H.264's
  usual B-pyramid these are never two in a row, so the frames that are decoded are at most two
  apart (the default sampling looks at every other frame anyway), and decoding costs less by the
  share skipped: up to half, a quarter to a third on the bench's clips (x264 codes still and slow
  content mostly as P frames). A stream whose skipped frames come in runs (B frames without a
  pyramid) turns skipping off as soon as a gap is wider than the sampling allows.
- ``skip_loop_filter``: the decoder leaves out H.264's deblocking filter, 15-20% of its work
  (bench clips: 360p 0.70 -> 0.55 s, 1080p 4.3 -> 3.5 s). Frames differ from the filtered ones
  by a median 46 dB PSNR, and by 49 dB at the 160 px the signals and cuts are measured on; the
  worst frame (fine noise late in a 250-frame GOP) by 27 dB, where block edges show at full size.
  Keyframe pictures are these frames, which faces, codes and colours are read from: the suite's
  face, QR and cut clips are read as before.
- the frame's own Y/U/V planes: the analysis images are made by shrinking the planes and
  converting only the small result to BGR, where VideoCapture converts every full frame.

PyAV also decides whether a file is a video we take (probe.py); OpenCV does all image work.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import av
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

from backend_app.adapters.vision.errors import VisionError

# More decoder threads than cores keep more frames in flight, so decoding goes on while the pass's
# own threads hold a core (2 cores, 1080p: 5.4-5.7 s a pass with 8 threads, 6.4-6.8 s with 2); each
# thread holds frames of its own (~8 MB at 1080p), so how many is bounded by the frame size: six at
# 1080p keep a work horse on a 10-minute 1080p clip under 300 MB (297 MB; eight: ~16 MB more).
FRAME_THREADS_MAX, FRAME_THREAD_PIXELS = 8, 6 * 1920 * 1080
# Frames up to SD decode on one thread about as fast as the analysis takes them; there more decoder
# threads only take CPU from the analysis and the keyframe inspection (2 cores, the bench's 360p
# minute: 2.0 against 2.2 CPU-seconds a pass), so one core is left to those.
SMALL_FRAME_PIXELS = 640 * 480
FAST_FORMAT = "yuv420p"  # 8-bit 4:2:0, limited range: the planes are read as they are
MPEG_RANGE, JPEG_RANGE = 1, 2  # AVColorRange
# A first frame later than this after the stream's start means its start could not be decoded
# (more than B-frame reordering or an edit list's trim moves it).
START_SLACK_S = 0.5


class FrameSource:
    """The video stream of one file, decoded in order; counts the frames the container holds.

    ``skip`` starts the decoder dropping non-reference frames; ``stop_skipping()`` makes it
    decode every frame from then on. ``fewer_threads``: that many decoder threads fewer than
    ``frame_threads`` gives (each holds frames of its own), for a pass that also encodes. ``packets`` counts every coded frame read, decoded or not;
    ``decoded`` the frames decoded; ``damaged`` the times of packets that could not be decoded.
    """

    def __init__(self, path: str, skip: bool, fewer_threads: int = 0):
        try:
            self.container = av.open(path)
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise VisionError("VIDEO_UNREADABLE", f"The video could not be opened for decoding: {exc}") from None
        from backend_app.adapters.vision.probe import video_stream

        self.stream = video_stream(self.container)
        if self.stream is None:
            self.container.close()
            raise VisionError("VIDEO_UNREADABLE", "The file has no video stream.")
        context = self.stream.codec_context
        context.thread_type = "AUTO"  # frame threads: FFmpeg's default (slice) is far slower here
        context.thread_count = max(1, frame_threads(context.width, context.height) - fewer_threads)
        context.options = {"skip_loop_filter": "all"}
        sar = self.stream.sample_aspect_ratio
        self.pixel_aspect = float(sar) if sar else 1.0  # width:height of one stored pixel (anamorphic DV, DVD: not 1)
        self.skipping = skip
        if skip:
            context.skip_frame = "NONREF"
        # Frame 0 is the first frame decoded, as VideoCapture counts: the stream's start time can
        # be earlier (AVI with B frames gives the first frame pts 1 and the stream start 0). When
        # the first frame comes more than START_SLACK_S after the stream's start (its first GOP
        # could not be decoded), the start stays the origin, so times stay the video's own and
        # ``lead_s`` says how much of the start was lost.
        self.origin: float | None = None
        self.lead_s = 0.0
        self._start = _seconds(self.stream.start_time, self.stream.time_base)
        self._first_packet: float | None = None
        self.packets = self.decoded = 0
        self.damaged: list[float] = []  # times of packets the decoder could not read

    def stop_skipping(self) -> None:
        if self.skipping:
            self.stream.codec_context.skip_frame = "DEFAULT"
            self.skipping = False

    def frames(self) -> Iterator[tuple[float, av.VideoFrame]]:
        """(seconds from the start of the stream, frame) in display order, until the end.

        A packet the decoder cannot read is passed over (its time kept in ``damaged``): the
        decoder picks up again at the next frame it can decode, so a glitch in the middle of a
        recording costs a few frames, not the rest of the video. Data the container cannot be
        read past ends the stream; the pass checks the count.
        """
        try:
            for packet in self.container.demux(self.stream):
                if packet.size and not packet.is_discard:  # discarded: cut by an edit list, never shown
                    self.packets += 1
                    if self.origin is None:
                        self._note_first_packet(packet)
                try:
                    frames = packet.decode()
                except av.InvalidDataError:
                    self.damaged.append(self._packet_time(packet))
                    continue
                for frame in frames:
                    self.decoded += 1
                    yield self._time(frame), frame
        except (av.FFmpegError, EOFError):
            return

    def _packet_time(self, packet: av.Packet) -> float:
        if packet.pts is None or packet.time_base is None:
            return float("nan")
        return float(packet.pts * packet.time_base) - (self.origin or 0.0)

    def _note_first_packet(self, packet: av.Packet) -> None:
        t = _seconds(packet.pts if packet.pts is not None else packet.dts, packet.time_base)
        if t is not None and (self._first_packet is None or t < self._first_packet):
            self._first_packet = t

    def _time(self, frame: av.VideoFrame) -> float:
        t = frame.time
        if t is None:
            return float("nan")
        if self.origin is None:
            starts = [s for s in (self._start, self._first_packet) if s is not None and s <= t]
            start = min(starts, default=t)
            self.origin = start if t - start > START_SLACK_S else t
            self.lead_s = round(t - self.origin, 3)
        return t - self.origin

    def close(self) -> None:
        self.container.close()


def _seconds(value: int | None, time_base) -> float | None:
    if value is None or time_base is None:
        return None
    seconds = float(value * time_base)
    return seconds if math.isfinite(seconds) else None


def frame_threads(width: int, height: int) -> int:
    """Decoder threads for frames of this size: at least one a core, up to FRAME_THREADS_MAX for
    frames up to 1080p; for frames up to SD, one core fewer than there are (at least one)."""
    cores = os.cpu_count() or 1
    if width * height <= SMALL_FRAME_PIXELS:
        return max(1, min(cores - 1, FRAME_THREADS_MAX))
    by_size = FRAME_THREAD_PIXELS // max(1, width * height)
    return min(16, max(cores, min(FRAME_THREADS_MAX, by_size)))


@contextmanager
def opencv_threads(count: int):
    """OpenCV's own thread pool limited to ``count`` threads inside the block.

    The analysis pass runs at 1: the decoder's threads and the pass's already keep every core
    busy, and splitting small images over more threads only adds hand-over work (about 0.2
    CPU-seconds of 10 on a 1080p minute, 2 cores). The worker's warm-up runs at 1 too, so no
    pool thread exists when it forks its horses: a horse would wait forever on the parent's
    threads, which are not in it, the first time it changed the pool's size.
    """
    before = cv2.getNumThreads()
    cv2.setNumThreads(count)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


def planes(frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Y, U, V) of a frame as 8-bit limited-range 4:2:0 arrays of even size (views, no copy when they can be).

    Other pixel formats (full-range JPEG 4:2:0, 4:2:2, 4:4:4, 10-bit, NV12…) are converted by
    swscale first, so nothing is misread; the odd last row or column of an odd-sized frame is dropped.
    """
    if frame.format.name != FAST_FORMAT or frame.color_range == JPEG_RANGE:
        source_range = JPEG_RANGE if frame.format.name.startswith("yuvj") else (frame.color_range or None)
        frame = _reformatter().reformat(
            frame, format=FAST_FORMAT, src_color_range=source_range, dst_color_range=MPEG_RANGE
        )
    width, height = frame.width & ~1, frame.height & ~1
    y, u, v = (_plane(p) for p in frame.planes[:3])
    return y[:height, :width], u[: height // 2, : width // 2], v[: height // 2, : width // 2]


_local = threading.local()


def _reformatter() -> VideoReformatter:
    """This thread's swscale context. ``VideoFrame.reformat`` keeps one on the frame, and the pass's
    reader and the preview's encoder convert the same frame at once: sharing it crashed the worker
    (a segmentation fault on H.264 4:4:4 with a preview to encode)."""
    reformatter = getattr(_local, "reformatter", None)
    if reformatter is None:
        reformatter = _local.reformatter = VideoReformatter()
    return reformatter


def _plane(plane) -> np.ndarray:
    return np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[: plane.height, : plane.width]


# Luma weights (Kr, Kb) of the YUV matrices, by FFmpeg's AVColorSpace number.
MATRICES = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722), "bt2020": (0.2627, 0.0593)}
_SPACES = {1: "bt709", 5: "bt601", 6: "bt601", 9: "bt2020", 10: "bt2020"}


def colour_matrix(frame: av.VideoFrame) -> str:
    """The YUV matrix a frame was coded with; unflagged video as players take it (HD BT.709, SD BT.601)."""
    return _SPACES.get(frame.colorspace) or ("bt709" if frame.height >= 720 else "bt601")


def bgr(y: np.ndarray, u: np.ndarray, v: np.ndarray, matrix: str = "bt601") -> np.ndarray:
    """BGR from limited-range 4:2:0 planes: BT.601 by OpenCV's own conversion (what its decode path
    gives), other matrices (HD's BT.709, BT.2020) from their coefficients, so colours stay true."""
    if matrix != "bt601":
        return _bgr_with(y, u, v, *MATRICES[matrix])
    height, width = y.shape
    packed = np.concatenate(
        (np.ascontiguousarray(y).ravel(), np.ascontiguousarray(u).ravel(), np.ascontiguousarray(v).ravel())
    )
    return cv2.cvtColor(packed.reshape(height * 3 // 2, width), cv2.COLOR_YUV2BGR_I420)


def _bgr_with(y: np.ndarray, u: np.ndarray, v: np.ndarray, kr: float, kb: float) -> np.ndarray:
    height, width = y.shape
    kg = 1.0 - kr - kb
    size = (width, height)
    yuv = cv2.merge(
        [y, cv2.resize(u, size, interpolation=cv2.INTER_LINEAR), cv2.resize(v, size, interpolation=cv2.INTER_LINEAR)]
    ).astype(np.float32)
    ys, cs = 255.0 / 219.0, 255.0 / 224.0  # limited range: Y 16-235, U/V 16-240 around 128
    rows = {  # [Y, U, V] weights per output channel, then the offset
        "b": (ys, 2 * (1 - kb) * cs, 0.0),
        "g": (ys, -2 * kb * (1 - kb) / kg * cs, -2 * kr * (1 - kr) / kg * cs),
        "r": (ys, 0.0, 2 * (1 - kr) * cs),
    }
    matrix = np.array([[*w, -16 * w[0] - 128 * (w[1] + w[2])] for w in (rows["b"], rows["g"], rows["r"])], np.float32)
    return np.clip(cv2.transform(yuv, matrix), 0, 255).astype(np.uint8)


def shrink(y: np.ndarray, u: np.ndarray, v: np.ndarray, width: int, height: int) -> np.ndarray:
    """A BGR image of ``width`` x ``height`` (both even): the planes are shrunk, then converted.

    While the planes are an exact even multiple of the size asked for they are halved (OpenCV's
    vectorised exact-2x area path), then resized once by what factor is left: the same averages
    as one area resize, at a fraction of the cost (1080p luma to 160 px: halved twice, then 3x).
    Other sizes are halved while at least four times too large, then resized once.
    """

    def exact(h: int, w: int) -> bool:
        return w % (2 * width) == 0 and h % (2 * height) == 0 and h % 4 == 0 and w % 4 == 0

    while exact(*y.shape) or (y.shape[1] >= 4 * width and y.shape[0] >= 4 * height):
        y, u, v = _resized(y, u, v, (y.shape[1] // 2) & ~1, (y.shape[0] // 2) & ~1)
    if y.shape != (height, width):
        y, u, v = _resized(y, u, v, width, height)
    return bgr(y, u, v)


def halve_to(y: np.ndarray, u: np.ndarray, v: np.ndarray, max_side: int, matrix: str = "bt601") -> np.ndarray:
    """BGR at full size halved until its longer side is at most ``max_side`` (OpenCV's fast 2x path)."""
    while max(y.shape) > max_side and min(y.shape) >= 4:
        y, u, v = _resized(y, u, v, (y.shape[1] // 2) & ~1, (y.shape[0] // 2) & ~1)
    return bgr(y, u, v, matrix)


def upright(image: np.ndarray, rotation: float) -> np.ndarray:
    """``image`` turned as the frame's display matrix says (PyAV's ``frame.rotation``: degrees
    counter-clockwise), so a phone's portrait video gives portrait pictures, as players and
    OpenCV's probe (which reports the turned size) show it. Only quarter turns are applied."""
    turn = round((rotation or 0) / 90) % 4
    if turn == 0:
        return image
    return cv2.rotate(image, (cv2.ROTATE_90_COUNTERCLOCKWISE, cv2.ROTATE_180, cv2.ROTATE_90_CLOCKWISE)[turn - 1])


def square_pixels(image: np.ndarray, pixel_aspect: float) -> np.ndarray:
    """``image`` as shown when its stored pixels are not square: the longer way is kept, the
    other shrunk (720x576 at 64:45 shows as 1024x576: the picture becomes 720x405)."""
    if not math.isfinite(pixel_aspect) or pixel_aspect <= 0 or abs(pixel_aspect - 1.0) < 0.01:
        return image
    height, width = image.shape[:2]
    size = (
        (width, max(1, round(height / pixel_aspect)))
        if pixel_aspect > 1
        else (max(1, round(width * pixel_aspect)), height)
    )
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _resized(y: np.ndarray, u: np.ndarray, v: np.ndarray, width: int, height: int):
    """The 4:2:0 planes area-resized to a ``width`` x ``height`` luma (even), chroma at half that."""
    area = cv2.INTER_AREA
    return (
        cv2.resize(y, (width, height), interpolation=area),
        cv2.resize(u, (width // 2, height // 2), interpolation=area),
        cv2.resize(v, (width // 2, height // 2), interpolation=area),
    )
