"""Probe a video file with PyAV: what the container declares, checked against the limits, and
the first frame decoded, before any heavy work.

The policy is FFmpeg's: every video stream the bundled PyAV (libavcodec) can decode is taken,
whatever its codec or container. Refused, each with its code, is only what cannot be analysed:
no decoder in this build (UNSUPPORTED_CODEC, naming the codec), no video stream
(NO_VIDEO_STREAM), encrypted packets (VIDEO_ENCRYPTED), no frame that decodes
(NO_DECODABLE_FRAMES), a file FFmpeg cannot open at all (VIDEO_UNREADABLE), and what is over
the limits. The same library decodes the pass (frames.py), so the probe and the pass agree on
what a file holds.

The frame count comes from the video stream's own duration (or, in Matroska, its DURATION tag)
times the rate: the container's duration is too long when the audio runs on or an edit list
trims the start. Where neither exists (a browser's MediaRecorder WebM) the length is unknown:
the pass enforces the limits as it reads, and its count is the truth. ``length_known`` says
whether the count may be held against the pass.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from dataclasses import asdict, dataclass

import av

from backend_app.adapters.vision.errors import VisionError

# Names of FFmpeg decoders as the report gives them (anything else keeps FFmpeg's own name).
CODEC_NAMES = {
    "mpeg1video": "mpeg1",
    "mpeg2video": "mpeg2",
    "libdav1d": "av1",
    "libaom-av1": "av1",
    "msmpeg4": "msmpeg4v3",
}
MIN_FPS, MAX_FPS = 0.1, 1000.0  # outside this a container's frame rate is not a frame rate
HASH_CHUNK = 1 << 20
FIRST_FRAME_MIN_PACKETS = 250  # the probe reads at least this far for a first frame (a damaged start)
HEAD_BYTES = 1 << 16  # where a codec FFmpeg does not know is named in the file


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


def open_container(path: str):
    """The file opened by FFmpeg's demuxers, or VIDEO_UNREADABLE when it is no media file FFmpeg reads."""
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        raise VisionError("VIDEO_UNREADABLE", "The file is empty or missing.")
    try:
        return av.open(path)
    except (av.FFmpegError, OSError, ValueError, IndexError):
        raise VisionError(
            "VIDEO_UNREADABLE",
            "FFmpeg could not open the file as a video (not a video, or truncated before its index).",
        ) from None


def the_video_stream(container):
    """The video stream to analyse, or NO_VIDEO_STREAM saying what the file holds instead."""
    stream = video_stream(container)
    if stream is not None:
        return stream
    if container.streams.video:
        why = "The file has no video, only a still picture (such as an audio file's cover art)."
    elif container.streams.audio:
        why = "The file has sound but no picture: there is no video stream to analyse."
    else:
        why = "The file holds no video stream."
    raise VisionError("NO_VIDEO_STREAM", why)


def declared_codec(path: str) -> str:
    """The codec a file names for its video where FFmpeg has no decoder for it (AVI FourCC, Matroska CodecID)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError:
        return "unknown"
    found = re.search(rb"strh.{4}vids(.{4})", head, re.DOTALL) or re.search(rb"(V_[A-Z0-9_/]{2,40})", head)
    if found is None:
        return "unknown"
    name = found.group(1).decode("latin-1").strip("\x00 ")
    return name if name.isprintable() and name else "unknown"


def _rate(stream) -> float:
    """Frames per second as OpenCV took it: the average rate, else the stream's base rate."""
    for rate in (stream.average_rate, stream.base_rate, stream.guessed_rate):
        if rate and float(rate) > 0:
            return float(rate)
    return float("nan")


def _tag_seconds(stream) -> float | None:
    """The stream's DURATION tag (Matroska writers put one per track), in seconds."""
    text = (stream.metadata or {}).get("DURATION") or (stream.metadata or {}).get("duration")
    found = re.fullmatch(r"(\d+):(\d{2}):(\d{2}(?:\.\d+)?)", (text or "").strip())
    if not found:
        return None
    seconds = int(found.group(1)) * 3600 + int(found.group(2)) * 60 + float(found.group(3))
    return seconds if seconds > 0 else None


def stream_seconds(stream) -> float | None:
    """The video stream's own duration in seconds (its header, else its DURATION tag), or None."""
    if stream.duration is not None and stream.time_base is not None:
        seconds = float(stream.duration * stream.time_base)
        if math.isfinite(seconds) and seconds > 0:
            return seconds
    return _tag_seconds(stream)


def read_metadata(container, stream, path: str) -> VideoMetadata:
    """What the container declares: METADATA_EXTRACTION_FAILED / INVALID_FPS / UNSUPPORTED_CODEC."""
    context = stream.codec_context
    if context is None:
        raise VisionError(
            "UNSUPPORTED_CODEC",
            f"The video codec {declared_codec(path)!r} has no decoder in this server's FFmpeg build, "
            "so the video cannot be analysed.",
        )
    width, height = context.width or 0, context.height or 0
    if not (width >= 1 and height >= 1):
        raise VisionError("METADATA_EXTRACTION_FAILED", "The video reports no frame size.")
    fps = _rate(stream)
    if not MIN_FPS <= fps <= MAX_FPS:
        raise VisionError("INVALID_FPS", f"The video reports an unusable frame rate ({fps:g} fps).")
    contained = not set(container.format.name.split(",")) & BARE_STREAMS
    stream_s = stream_seconds(stream)
    whole_s = container.duration / av.time_base if container.duration and container.duration > 0 else None
    if stream_s:
        frame_count, known = max(1, round(stream_s * fps)), True
    elif whole_s and contained:
        frame_count, known = max(1, round(whole_s * fps)), False  # the container's: an upper bound
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
    name = context.name or "unknown"
    tag = context.codec_tag or ""
    return VideoMetadata(
        duration_s=round(duration, 3),
        fps=round(fps, 3),
        frame_count=frame_count,
        width=int(width),
        height=int(height),
        codec=CODEC_NAMES.get(name, name),
        fourcc=tag.strip("\x00 ").lower() if tag.isprintable() else "",
        bitrate=int(size * 8 / duration) if duration else 0,
        file_size=size,
        sha256=digest,
        length_known=known,
    )


# FFmpeg demuxers of bare elementary streams: no container, so no timing of their own.
BARE_STREAMS = {"h264", "hevc", "m4v", "mpegvideo", "mjpeg", "av1", "obu", "ivf"}


def video_stream(container):
    """The stream FFmpeg takes as the video: the best one that is no attached picture."""
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


def first_frame(container, stream, meta: VideoMetadata):
    """The first frame that decodes (reading past a damaged start, at most half the declared
    frames); VIDEO_ENCRYPTED when the packets are encrypted, NO_DECODABLE_FRAMES when none decodes."""
    budget = max(FIRST_FRAME_MIN_PACKETS, meta.frame_count // 2 + 1)
    packets = 0
    try:
        for packet in container.demux(stream):
            if packet.size and packet.has_sidedata("encryption_info"):
                raise VisionError(
                    "VIDEO_ENCRYPTED", "The video is encrypted (DRM): its pictures cannot be decoded without the key."
                )
            packets += bool(packet.size)
            try:
                frames = packet.decode()
            except av.InvalidDataError:
                frames = []
            if frames:
                return frames[0]
            if packets > budget:
                raise VisionError(
                    "VIDEO_UNREADABLE",
                    f"None of the first {packets} frames could be decoded: over half the video is damaged.",
                )
    except (av.FFmpegError, EOFError):
        pass
    raise VisionError(
        "NO_DECODABLE_FRAMES",
        "The video stream holds no frame that can be decoded"
        + (f" (it declares {meta.frame_count})." if meta.length_known and packets else "."),
    )


def probe(path: str, limits: Limits | None = None) -> VideoMetadata:
    """Open with PyAV, read the metadata, validate against ``limits``, then check a frame decodes."""
    with open_container(path) as container:
        stream = the_video_stream(container)
        meta = read_metadata(container, stream, path)
        if limits is not None:
            validate(meta, limits)
        stream.codec_context.thread_type = "NONE"  # a few frames: no decoder threads to start
        frame = first_frame(container, stream, meta)
    if round((frame.rotation or 0) / 90) % 2:  # shown turned a quarter: pictures and sizes are upright
        meta = VideoMetadata(**{**meta.to_dict(), "width": meta.height, "height": meta.width})
    return meta
