"""Probe a video file: what the container says, checked against the limits before decoding.

OpenCV decides whether the file is a video we take (opens, codec, frame rate, first frame). Its
frame count is the container's duration times the rate, which is too long when the audio runs on
(MKV/WebM) or an edit list trims the start (MP4 cut without re-encoding); the video stream's own
duration, read with PyAV, gives the count where the container has one. Where neither has one
(a browser's MediaRecorder WebM) the length is unknown: the pass enforces the limits as it reads,
and its count is the truth. ``length_known`` says whether the count may be held against the pass.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import asdict, dataclass

import cv2

from backend_app.adapters.vision.errors import VisionError

# Codecs we analyse (FourCC as OpenCV reports it, lower-cased) -> the name in the report.
CODECS = {
    "avc1": "h264",
    "h264": "h264",
    "x264": "h264",
    "avc3": "h264",
    "hev1": "hevc",
    "hvc1": "hevc",
    "hevc": "hevc",
    "h265": "hevc",
    "mp4v": "mpeg4",
    "fmp4": "mpeg4",
    "xvid": "mpeg4",
    "divx": "mpeg4",
    "dx50": "mpeg4",
    "vp80": "vp8",
    "vp09": "vp9",
    "vp90": "vp9",
    "av01": "av1",
    "mjpg": "mjpeg",
    "mpg1": "mpeg1",
    "mpg2": "mpeg2",
    "mpeg": "mpeg2",
}
MIN_FPS, MAX_FPS = 0.1, 1000.0  # outside this a container's frame rate is not a frame rate
HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class VideoMetadata:
    duration_s: float
    fps: float
    frame_count: int
    width: int
    height: int
    codec: str
    fourcc: str
    bitrate: int  # bits per second over the whole file (0 when the length is unknown)
    file_size: int
    sha256: str
    length_known: bool = True  # False: frame_count and duration_s are estimates (or 0), not the stream's own

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Limits:
    max_duration_s: float
    max_pixels: int
    max_frames: int


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fourcc_text(value: float) -> str:
    code = int(value) if value and not math.isnan(value) else 0
    text = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4))
    return text.strip("\x00 ").lower() if text.isprintable() else ""


def open_capture(path: str) -> cv2.VideoCapture:
    """An FFmpeg-backed capture, or VIDEO_UNREADABLE when the file is not a video OpenCV can open."""
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        raise VisionError("VIDEO_UNREADABLE", "The file is empty or missing.")
    try:
        cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
    except cv2.error as exc:
        raise VisionError("VIDEO_UNREADABLE", f"OpenCV could not open the file: {exc}") from None
    if not cap.isOpened():
        cap.release()
        raise VisionError("VIDEO_UNREADABLE", _why_not_a_video(path))
    return cap


def _why_not_a_video(path: str) -> str:
    """What to tell about a file OpenCV cannot open: sound alone is said as such."""
    import av

    try:
        with av.open(path) as container:
            if video_stream(container) is None and container.streams.audio:
                return "The file has sound but no picture."
    except (av.FFmpegError, OSError, ValueError):
        pass
    return "OpenCV could not open the file as a video (not a video, or truncated before its index)."


def _number(cap: cv2.VideoCapture, prop: int) -> float:
    value = cap.get(prop)
    return float(value) if value is not None and math.isfinite(value) else float("nan")


def read_metadata(cap: cv2.VideoCapture, path: str) -> VideoMetadata:
    """Metadata from an open capture; METADATA_EXTRACTION_FAILED / INVALID_FPS / UNSUPPORTED_CODEC."""
    stream_s, contained, pictures_only = stream_length(path)
    if pictures_only:
        raise VisionError(
            "VIDEO_UNREADABLE", "The file has no video, only a still picture (such as an audio file's cover art)."
        )
    try:
        width, height = _number(cap, cv2.CAP_PROP_FRAME_WIDTH), _number(cap, cv2.CAP_PROP_FRAME_HEIGHT)
        fps, frames = _number(cap, cv2.CAP_PROP_FPS), _number(cap, cv2.CAP_PROP_FRAME_COUNT)
        fourcc = fourcc_text(cap.get(cv2.CAP_PROP_FOURCC))
    except cv2.error as exc:
        raise VisionError("METADATA_EXTRACTION_FAILED", f"Reading the video's metadata failed: {exc}") from None
    if not (width >= 1 and height >= 1):
        raise VisionError("METADATA_EXTRACTION_FAILED", "The video reports no frame size.")
    if not MIN_FPS <= fps <= MAX_FPS:
        raise VisionError("INVALID_FPS", f"The video reports an unusable frame rate ({fps:g} fps).")
    codec = CODECS.get(fourcc)
    if codec is None:
        raise VisionError(
            "UNSUPPORTED_CODEC",
            f"The video codec {fourcc or 'unknown'!r} is not supported; "
            "use H.264, HEVC, MPEG-4, VP8/VP9, AV1 or MJPEG.",
        )
    if stream_s:
        frame_count, known = max(1, round(stream_s * fps)), True
    elif frames >= 1:
        frame_count, known = int(frames), False  # from the container's duration: an upper bound
    elif contained:
        frame_count, known = 0, False  # no length anywhere (a live WebM): the pass counts
    else:  # a bare elementary stream: no container, no timing to trust
        raise VisionError(
            "METADATA_EXTRACTION_FAILED",
            "The file reports neither a frame count nor a duration (not in a container such as MP4, MKV or MOV).",
        )
    duration = frame_count / fps
    try:
        size, digest = os.path.getsize(path), sha256_of(path)
    except OSError as exc:
        raise VisionError("METADATA_EXTRACTION_FAILED", f"Reading the file failed: {exc}") from None
    return VideoMetadata(
        duration_s=round(duration, 3),
        fps=round(fps, 3),
        frame_count=frame_count,
        width=int(width),
        height=int(height),
        codec=codec,
        fourcc=fourcc,
        bitrate=int(size * 8 / duration) if duration else 0,
        file_size=size,
        sha256=digest,
        length_known=known,
    )


# FFmpeg demuxers of bare elementary streams: no container, so no timing of their own.
BARE_STREAMS = {"h264", "hevc", "m4v", "mpegvideo", "mjpeg", "av1", "obu", "ivf"}


def stream_length(path: str) -> tuple[float | None, bool, bool]:
    """(the video stream's own duration in seconds, or None; whether the file is in a container;
    whether its only "video" is still pictures such as cover art)."""
    import av

    try:
        with av.open(path) as container:
            contained = not set(container.format.name.split(",")) & BARE_STREAMS
            stream = video_stream(container)
            if stream is None:  # no video stream, or only attached pictures
                return None, contained, bool(container.streams.video)
            if stream.duration is None or stream.time_base is None:
                return None, contained, False
            seconds = float(stream.duration * stream.time_base)
            return (seconds if math.isfinite(seconds) and seconds > 0 else None), contained, False
    except (av.FFmpegError, OSError, ValueError):
        return None, False, False


def video_stream(container):
    """The stream FFmpeg (and OpenCV) take as the video: the best one that is no attached picture."""
    import av

    moving = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    if not moving:
        return None
    best = container.streams.best("video")
    return best if best in moving else moving[0]


def validate(meta: VideoMetadata, limits: Limits) -> None:
    """Refuse what is over the limits: VIDEO_TOO_LARGE (dimensions), VIDEO_TOO_LONG (duration/frames)."""
    if meta.width * meta.height > limits.max_pixels or max(meta.width, meta.height) > 16384:
        raise VisionError(
            "VIDEO_TOO_LARGE", f"{meta.width}x{meta.height} is over the {limits.max_pixels}-pixel limit per frame."
        )
    if meta.duration_s > limits.max_duration_s:
        raise VisionError(
            "VIDEO_TOO_LONG", f"The video lasts {meta.duration_s:.1f} s; the limit is {limits.max_duration_s:g} s."
        )
    if meta.frame_count > limits.max_frames:
        raise VisionError(
            "VIDEO_TOO_LONG", f"The video has {meta.frame_count} frames; the limit is {limits.max_frames}."
        )


def probe(path: str, limits: Limits | None = None) -> VideoMetadata:
    """Open, read metadata, check the first frame decodes, validate against ``limits``."""
    cap = open_capture(path)
    try:
        meta = read_metadata(cap, path)
        if limits is not None:
            validate(meta, limits)
        ok = cap.grab() and cap.retrieve()[0]
    finally:
        cap.release()
    if not ok:
        raise VisionError("VIDEO_UNREADABLE", "The first frame could not be decoded (damaged or truncated file).")
    return meta
