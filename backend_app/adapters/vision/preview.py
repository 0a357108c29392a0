"""A browser-playable preview rendition of a source browsers cannot play as it is.

Browsers play H.264 (or HEVC) with AAC in MP4/MOV and VP8/VP9/AV1 with Opus/Vorbis in WebM;
anything else (MPEG-4 Part 2 or MJPEG in AVI, H.264 in MKV, MPEG-2, WMV…) shows a dead player.
Two ways to a preview, both H.264 + AAC in MP4 with the index at the front (``movflags
+faststart``), so a browser can start playing and seek with Range requests before it has the
whole file:

- ``PreviewCopy``: H.264 that browsers decode (8-bit 4:2:0, a profile they know, at most 720p,
  square pixels), only in a container they do not (MKV, FLV, MOV-less AVI…). Its packets are
  copied into the MP4 as they are, by a thread of its own reading a second demuxer: nothing is
  decoded or encoded for the pictures, so the rendition loses nothing and costs a fraction of a
  second a minute, and the pass goes on skipping what it does not need. This is what media
  servers call a remux ("direct stream"). A source whose pass found damaged or missing
  data gets an encoded preview instead (``encode_preview``, a pass of its own): a browser stops at
  the first packet its decoder refuses.
- ``PreviewWriter``: everything else. The pass hands it every frame it decodes; it scales each to
  at most 720p (``VIDEO_PREVIEW_HEIGHT``) and encodes it with the libx264 inside PyAV's wheel (no
  system ffmpeg), while a thread of its own reads the source's sound from a second, cheap demuxer
  and the encoding thread muxes those packets up to the same second, so the MP4 is interleaved
  as it is written.

The sound either way (``_Sound``): AAC copied as it is, anything else decoded and encoded to AAC.
A failure never fails the analysis: the writer stops, says why (``failed``), and the report falls
back to the source.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import av
import cv2
import numpy as np

from backend_app.adapters.vision.frames import FrameSource, planes
from backend_app.adapters.vision.probe import video_stream

log = logging.getLogger(__name__)

# What current browsers play: container family -> (video codecs, audio codecs) (no audio is fine).
PLAYABLE = {
    "mp4": ({"h264", "hevc"}, {"aac"}),
    "webm": ({"vp8", "vp9", "av1"}, {"opus", "vorbis"}),
}
PLAYABLE_PIXELS = {"yuv420p", "yuvj420p"}  # 10-bit or 4:2:2/4:4:4 H.264 does not play in Chrome or Firefox
# H.264 profiles every current browser decodes: such a stream is copied (``PreviewCopy``), not encoded.
COPY_PROFILES = {"Baseline", "Constrained Baseline", "Main", "High"}
MAX_SHORT_SIDE = 720  # "at most 720p" (portrait too); the long side at most 16:9 of it (the caller may ask less)
IN_FLIGHT = 2  # decoded frames waiting for the encoding thread (each a full-size frame: 3 MB at 1080p)
# Speed over size: the preview is for finding a moment, not for keeping. ultrafast is x264's
# cheapest preset (superfast: ~30 % more work, veryfast: ~2.5x); CRF 28 at 360p gives 3-4 Mbit/s
# on the bench's noisy clips, far less on ordinary footage. A keyframe every two seconds keeps
# seeking quick. What it costs next to the analysis: docs/benchmarks.md, "Preview rendition".
PRESET, CRF, KEYFRAME_S = "ultrafast", "28", 2.0
# x264 on the encoding thread itself: its own frame threads cost ~25 % more CPU for the same
# frames, and the cores are busy anyway (decoder threads, the analysis); PyAV lets go of the GIL
# while x264 works, and the sound is made on a thread of its own (AUDIO_IN_FLIGHT).
X264_THREADS = "1"
AUDIO_BITRATE_PER_CHANNEL = 64_000  # AAC-LC: 64 kbit/s mono, 128 kbit/s stereo
AUDIO_IN_FLIGHT = 256  # AAC packets (~5 s) the sound's thread may be ahead of the pictures
TIME_BASE = Fraction(1, 90_000)
ADTS = {"mpegts", "aac", "adts"}  # containers whose AAC carries ADTS headers (MP4 wants them gone: re-encoded)
AAC_RATES = (48_000, 44_100, 32_000, 24_000, 22_050, 16_000)
AUDIO_AHEAD_S = 0.5  # audio is muxed up to this far past the last video frame written
OUTPUT_NAME = "preview.mp4"


def container_family(container: av.container.InputContainer, path: str) -> str | None:
    """'mp4' (MP4, MOV, M4V), 'webm' (WebM; Matroska by its extension only when .webm), or None."""
    names = set(container.format.name.split(","))
    if "mp4" in names or "mov" in names:
        return "mp4"
    if "webm" in names and os.path.splitext(path)[1].lower() == ".webm":
        return "webm"
    return None


def browser_playable(path: str) -> bool:
    """Whether current browsers play ``path`` as it is (container, video and audio codec, pixel format)."""
    try:
        with av.open(path) as container:
            family = container_family(container, path)
            stream = video_stream(container)
            if family is None or stream is None:
                return False
            videos, audios = PLAYABLE[family]
            context = stream.codec_context
            if context.name not in videos:
                return False
            if family == "mp4" and (context.format is None or context.format.name not in PLAYABLE_PIXELS):
                return False
            return all(a.codec_context.name in audios for a in container.streams.audio)
    except (av.FFmpegError, OSError, ValueError):
        return False


def preview_size(
    width: int, height: int, pixel_aspect: float = 1.0, short_side: int = MAX_SHORT_SIDE
) -> tuple[int, int]:
    """The preview's frame size: square pixels, at most ``short_side`` (<= 720) on the short side
    and 16:9 of that on the long one, never larger than the source shows, both even."""
    short_side = max(2, min(MAX_SHORT_SIDE, short_side))
    shown_w = width * (pixel_aspect if math.isfinite(pixel_aspect) and pixel_aspect > 0 else 1.0)
    long_side = short_side * 16 // 9
    scale = min(1.0, short_side / max(1, min(shown_w, height)), long_side / max(1, max(shown_w, height)))
    return max(2, int(shown_w * scale) & ~1), max(2, int(height * scale) & ~1)


@dataclass
class PreviewResult:
    path: str
    width: int
    height: int
    frames: int
    audio: bool
    encode_s: float  # the writer's own thread's time (encoding, or copying)
    copied: bool = False  # the source's H.264 packets as they are (``PreviewCopy``)


class _Sound:
    """The source's first audio stream on its way into the preview: AAC stored with its
    configuration (MKV, MOV, AVI: not ADTS as in MPEG-TS) copied packet by packet, anything else
    decoded and encoded to AAC; timed from ``origin`` (the source's second that is the preview's
    0, set before the first packet), nothing before it."""

    def __init__(self, source: av.container.InputContainer, output: av.container.OutputContainer):
        self.stream = source.streams.audio[0]
        self.origin = 0.0
        context = self.stream.codec_context
        self.copying = (
            context.name == "aac" and bool(context.extradata) and not ADTS & set(source.format.name.split(","))
        )
        if self.copying:
            self.out = output.add_stream_from_template(self.stream)
            return
        rate = context.sample_rate if context.sample_rate in AAC_RATES else 48_000
        mono = context.channels == 1
        self.out = output.add_stream("aac", rate=rate, layout="mono" if mono else "stereo")
        self.out.bit_rate = AUDIO_BITRATE_PER_CHANNEL * (1 if mono else 2)
        self.out.codec_context.open()  # now, not when the first packet writes the header on another thread
        self._written = 0  # the next sample's pts (1/rate units) in the output

    def packets(self, packet: av.Packet) -> Iterator[av.Packet]:
        """The preview's packets for one of the source's (its demuxer's last, empty packet: the
        encoder's last). Raises ``av.FFmpegError`` for sound that cannot be decoded."""
        if self.copying:
            if packet.pts is None or packet.dts is None or not packet.size:
                return  # the demuxer's flush packet
            shift = round(self.origin / packet.time_base)
            packet.pts, packet.dts = packet.pts - shift, packet.dts - shift
            if packet.pts >= 0:  # not before the first picture
                packet.stream = self.out
                yield packet
            return
        for frame in packet.decode():
            yield from self._encoded(frame)
        if not packet.size:
            yield from self.out.encode(None)

    def _encoded(self, frame: av.AudioFrame) -> Iterator[av.Packet]:
        rate = self.out.rate
        if frame.time is not None:
            start = frame.time - self.origin
            if start + frame.samples / frame.sample_rate <= 0:
                return  # before the first picture
            if self._written == 0 and start > 0:  # the sound starts after the picture: keep the gap
                self._written = round(start * rate)
        frame.time_base = Fraction(1, frame.sample_rate)
        frame.pts = round(self._written * frame.sample_rate / rate)
        self._written += round(frame.samples * rate / frame.sample_rate)
        yield from self.out.encode(frame)


class _Rendition:
    """What both previews share: the MP4 they write (``output``), the demuxer of the source they
    read (``source``), and how they end."""

    path: str
    output: av.container.OutputContainer
    source: av.container.InputContainer | None
    sound: _Sound | None
    failed: str | None
    width: int
    height: int
    frames: int
    encode_s: float

    def _close_files(self) -> None:
        for container in (self.output, self.source):
            if container is not None:
                try:
                    container.close()
                except (av.FFmpegError, OSError) as exc:
                    self.failed = self.failed or f"{type(exc).__name__}: {exc}"

    def _result(self, copied: bool) -> PreviewResult | None:
        """What was written; None (and no file) when it failed or holds no picture."""
        if self.failed is not None or not self.frames:
            if os.path.exists(self.path):
                os.remove(self.path)
            return None
        return PreviewResult(
            self.path, self.width, self.height, self.frames, self.sound is not None, round(self.encode_s, 4), copied
        )


class PreviewCopy(_Rendition):
    """Browser-playable H.264 in a container browsers do not play: its packets (and the sound,
    ``_Sound``) copied into an MP4 by a thread of its own, from a demuxer of its own, while the
    pass analyses. The pass hands it no frames (``needs_frames``), so it goes on letting the
    decoder skip what the analysis does not need. ``origin``: the source's second that is the
    preview's 0 (the first picture's, as the analysis counts: ``copy_origin``)."""

    needs_frames = False

    def __init__(self, source_path: str, out_path: str, origin: float, width: int, height: int):
        self.path, self.failed, self.origin = out_path, None, origin
        self.width, self.height = width, height
        self.frames, self.encode_s = 0, 0.0
        self.source: av.container.InputContainer | None = None
        self.sound: _Sound | None = None
        self.output = av.open(out_path, "w", format="mp4", options={"movflags": "+faststart"})
        try:
            self.source = av.open(source_path)
            self.video_in = video_stream(self.source)
            self.video = self.output.add_stream_from_template(self.video_in)
            if self.source.streams.audio:
                self.sound = _Sound(self.source, self.output)
                self.sound.origin = origin
        except BaseException:
            self._close_files()
            raise
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._copy_all, name="video-preview-copy", daemon=True)
        self.thread.start()

    def add(self, frame: av.VideoFrame) -> None:
        """Nothing to do: the pictures are copied from the file."""

    def _copy_all(self) -> None:
        started = time.perf_counter()
        sound = self.sound
        shift = round(self.origin / self.video_in.time_base)
        try:
            for packet in self.source.demux([self.video_in] + ([sound.stream] if sound else [])):
                if self.stop.is_set():
                    break
                if packet.stream.index != self.video_in.index:
                    sound = self._mux_sound(sound, packet)
                elif packet.size:
                    packet.pts = None if packet.pts is None else packet.pts - shift
                    packet.dts = None if packet.dts is None else packet.dts - shift
                    packet.stream = self.video
                    self.output.mux(packet)
                    self.frames += 1
        except (av.FFmpegError, ValueError, OSError) as exc:
            self.failed = f"{type(exc).__name__}: {exc}"
            log.warning("copying the preview failed; the report will play the source", extra={"error": self.failed})
        self.encode_s = time.perf_counter() - started

    def _mux_sound(self, sound: _Sound | None, packet: av.Packet) -> _Sound | None:
        """Mux what ``packet`` becomes; the sound that is left (None once it cannot be read further:
        the preview keeps the pictures and the sound it has)."""
        if sound is None:
            return None
        try:
            for out in sound.packets(packet):
                self.output.mux(out)
        except (av.FFmpegError, ValueError) as exc:
            log.info("the preview's sound stops early", extra={"error": f"{type(exc).__name__}: {exc}"})
            return None
        return sound

    def close(self, keep: bool = True) -> PreviewResult | None:
        """Finish the file; None (and no file) when nothing could be copied or ``keep`` is false."""
        if not keep:
            self.failed = self.failed or "abandoned"
            self.stop.set()
        self.thread.join()
        self._close_files()
        return self._result(copied=True)


class PreviewWriter(_Rendition):
    """Encodes the frames it is given (in display order) and the source's audio into one MP4.

    ``add`` is called from the pass's reader thread for every frame it decodes and only hands the
    frame to an encoding thread (at most IN_FLIGHT wait), so decoding goes on while x264 works; the
    sound is made on a third thread (``_make_audio``) and muxed by the encoding thread, the only
    one that writes the file. ``close`` finishes the file (or removes it when encoding failed) and
    returns what was written.
    """

    needs_frames = True

    def __init__(
        self,
        source_path: str,
        out_path: str,
        width: int,
        height: int,
        pixel_aspect: float,
        fps: float,
        short_side: int = MAX_SHORT_SIDE,
    ):
        self.path, self.failed = out_path, None
        self.width, self.height = preview_size(width, height, pixel_aspect, short_side)
        self.frames, self.encode_s = 0, 0.0
        # One picture, written for every frame: libx264 copies it into a frame of its own before
        # ``encode`` returns. A new picture a frame cost more than the resize (0.8 against 0.2 ms a
        # 360p frame: freshly mapped pages faulted in, the planes packed, then copied again).
        self._picture = av.VideoFrame(self.width, self.height, "yuv420p")
        self._targets = [
            np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[: plane.height, : plane.width]
            for plane in self._picture.planes
        ]
        self.origin: float | None = None
        self.last_pts = -1
        self.output = av.open(out_path, "w", format="mp4", options={"movflags": "+faststart"})
        self.source: av.container.InputContainer | None = None
        self.sound: _Sound | None = None
        try:
            self.video = self._video_stream(fps)
            self.source = av.open(source_path)
            if self.source.streams.audio:
                self.sound = _Sound(self.source, self.output)
        except BaseException:
            self._close_files()
            raise
        # The sound is demuxed (and decoded and encoded, unless copied) on a thread of its own,
        # started once the first picture is written; the encoding thread muxes its packets in step.
        self.audio_done = self.sound is None
        self.audio_ready: queue.Queue = queue.Queue(maxsize=AUDIO_IN_FLIGHT)
        self.audio_thread: threading.Thread | None = None
        self.audio_pending: av.Packet | None = None
        self.audio_stop = threading.Event()
        self.waiting: queue.Queue = queue.Queue(maxsize=IN_FLIGHT)
        self.thread = threading.Thread(target=self._encode_all, name="video-preview", daemon=True)
        self.thread.start()

    def _video_stream(self, fps: float):
        rate = Fraction(fps).limit_denominator(1001) if fps > 0 else Fraction(30)
        stream = self.output.add_stream(
            "libx264",
            rate=rate,
            options={
                "preset": PRESET,
                "crf": CRF,
                "g": str(max(1, round(fps * KEYFRAME_S))),
                "threads": X264_THREADS,
            },
        )
        stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
        stream.time_base = TIME_BASE
        stream.codec_context.time_base = TIME_BASE
        return stream

    def add(self, frame: av.VideoFrame) -> None:
        """Hand one decoded frame to the encoding thread (waits while IN_FLIGHT frames wait)."""
        if self.failed is None and frame.time is not None:
            self.waiting.put(frame)

    def _encode_all(self) -> None:
        while (frame := self.waiting.get()) is not None:
            if self.failed is not None:
                continue  # drain: the reader must never wait on a writer that gave up
            started = time.perf_counter()
            try:
                self._add(frame)
            except (av.FFmpegError, ValueError, OSError, cv2.error) as exc:
                self.failed = f"{type(exc).__name__}: {exc}"
                log.warning("preview encoding failed; the report will play the source", extra={"error": self.failed})
            self.encode_s += time.perf_counter() - started

    def _add(self, frame: av.VideoFrame) -> None:
        if self.origin is None:
            self.origin = frame.time
        pts = round((frame.time - self.origin) / TIME_BASE)
        if pts <= self.last_pts:  # a frame in an earlier frame's slot: the preview keeps the first
            return
        picture = self._converted(frame)
        picture.pts, picture.time_base = pts, TIME_BASE
        self.last_pts = pts
        self._mux_video(self.video.encode(picture))
        self.frames += 1
        self._audio_until(float(pts * TIME_BASE) + AUDIO_AHEAD_S)

    def _mux_video(self, packets: list[av.Packet]) -> None:
        """Write the pictures' packets; after the first (the header is written) the sound's thread starts."""
        for packet in packets:
            self.output.mux(packet)
            if self.audio_thread is None and not self.audio_done:
                self.audio_thread = threading.Thread(target=self._make_audio, name="video-preview-audio", daemon=True)
                self.audio_thread.start()

    def _converted(self, frame: av.VideoFrame) -> av.VideoFrame:
        """The frame at the preview's size as limited-range yuv420p: as it is when it fits, else its
        planes resized by OpenCV (exact halvings by area, the rest bilinear: a fraction of swscale's
        cost) straight into the one picture the encoder is handed every time (``_picture``)."""
        full_range = frame.format.name.startswith("yuvj") or frame.color_range == 2
        if (frame.width, frame.height, frame.format.name, full_range) == (self.width, self.height, "yuv420p", False):
            return frame
        sources = planes(frame)
        halving = sources[0].shape[1] % self.width == 0 and sources[0].shape[0] % self.height == 0
        how = cv2.INTER_AREA if halving else cv2.INTER_LINEAR
        for source, target in zip(sources, self._targets, strict=True):
            if source.shape == target.shape:
                np.copyto(target, source)
            elif cv2.resize(source, target.shape[::-1], dst=target, interpolation=how) is not target:
                raise ValueError("OpenCV did not resize into the preview picture")  # never seen: a guard
        return self._picture

    def _audio_until(self, until_s: float) -> None:
        """Mux the sound's packets that start before ``until_s`` (seconds of the preview), waiting
        for the sound's thread to make them when it is behind."""
        while not self.audio_done and self.audio_thread is not None:
            if self.audio_pending is None:
                self.audio_pending = self.audio_ready.get()
                if self.audio_pending is None:  # the sound ended (or could not be read further)
                    self.audio_done = True
                    return
            packet = self.audio_pending
            if float(packet.pts * packet.time_base) >= until_s:
                return
            self.output.mux(packet)
            self.audio_pending = None

    def _make_audio(self) -> None:
        """The sound's thread: its packets, timed from the first picture, handed to the encoding thread."""
        sound = self.sound
        sound.origin = self.origin
        try:
            for packet in self.source.demux(sound.stream):
                for out in sound.packets(packet):
                    if self.audio_stop.is_set():
                        return
                    self.audio_ready.put(out)
        except (av.FFmpegError, ValueError) as exc:  # undecodable sound: the preview keeps what it has
            log.info("the preview's sound stops early", extra={"error": f"{type(exc).__name__}: {exc}"})
        finally:
            self.audio_ready.put(None)

    def close(self, keep: bool = True) -> PreviewResult | None:
        """Finish the file; None (and no file) when nothing could be written or ``keep`` is false
        (the pass failed: the frames waiting are dropped, nothing more is encoded)."""
        if not keep:
            self.failed = self.failed or "abandoned"
        self.waiting.put(None)
        self.thread.join()
        try:
            if self.failed is None and self.frames:
                self._mux_video(self.video.encode(None))
                if self.sound is not None:
                    self._audio_until(float(self.last_pts * TIME_BASE) + 1.0 / float(self.video.average_rate or 30))
        except (av.FFmpegError, ValueError, OSError) as exc:
            self.failed = f"{type(exc).__name__}: {exc}"
        finally:
            self._stop_audio()
            self._close_files()
        return self._result(copied=False)

    def _stop_audio(self) -> None:
        """End the sound's thread: the sound past the last picture is not wanted."""
        if self.audio_thread is None:
            return
        self.audio_stop.set()
        while self.audio_thread.is_alive():  # unblock it if it waits for room, then let it see the stop
            try:
                self.audio_ready.get(timeout=0.05)
            except queue.Empty:
                pass
        self.audio_thread.join()


def copy_origin(container: av.container.InputContainer, stream: av.VideoStream) -> float | None:
    """The second a copy of ``stream`` starts at (its first packet's: a keyframe, the first picture
    the analysis counts) when browsers decode its H.264 as it is and it needs no scaling (at most
    720p, square pixels); None when it has to be encoded (``PreviewWriter``). Reads one packet."""
    context = stream.codec_context
    if context.name != "h264" or context.format is None or context.format.name not in PLAYABLE_PIXELS:
        return None
    if context.profile not in COPY_PROFILES:
        return None
    if not context.extradata or context.extradata[0] != 1:  # Annex B (MPEG-TS, raw .h264): MP4 wants avcC
        return None
    if stream.sample_aspect_ratio and stream.sample_aspect_ratio != 1:
        return None
    if preview_size(context.width, context.height) != (context.width, context.height):
        return None
    for packet in container.demux(stream):
        if packet.size:
            if not packet.is_keyframe or packet.pts is None:
                return None  # a damaged start: encoded from the frames that decode
            return float(packet.pts * packet.time_base)
    return None


Preview = PreviewWriter | PreviewCopy


def open_writer(
    source_path: str,
    workdir: str,
    width: int,
    height: int,
    fps: float,
    short_side: int = MAX_SHORT_SIDE,
    copy: bool = True,
) -> Preview | None:
    """A preview for ``source_path`` when browsers cannot play it as it is (None when they can):
    its H.264 copied when ``copy`` and browsers decode it (``copy_origin``), else encoded."""
    if browser_playable(source_path):
        return None
    pixel_aspect, origin = 1.0, None
    try:
        with av.open(source_path) as container:
            stream = video_stream(container)
            if stream is not None and stream.sample_aspect_ratio:
                pixel_aspect = float(stream.sample_aspect_ratio)
            if stream is not None and stream.codec_context.width:
                width, height = stream.codec_context.width, stream.codec_context.height
            if copy and stream is not None:
                origin = copy_origin(container, stream)
    except (av.FFmpegError, OSError, ValueError):
        return None
    out_path = os.path.join(workdir, OUTPUT_NAME)
    if origin is not None:
        return PreviewCopy(source_path, out_path, origin, width, height)
    return PreviewWriter(source_path, out_path, width, height, pixel_aspect, fps, short_side)


def encode_preview(
    source_path: str, workdir: str, width: int, height: int, fps: float, short_side: int = MAX_SHORT_SIDE
) -> PreviewResult | None:
    """The preview encoded in a decode pass of its own, from every frame that decodes: for a source
    whose copy would carry damaged packets (the analysis pass found some). Chromium stops playing at
    the first packet its decoder refuses (``PIPELINE_ERROR_DECODE``) and cannot seek past it."""
    writer = open_writer(source_path, workdir, width, height, fps, short_side, copy=False)
    if writer is None:
        return None
    try:
        source = FrameSource(source_path, skip=False)
        try:
            for _t, frame in source.frames():
                writer.add(frame)
        finally:
            source.close()
    except BaseException:
        writer.close(keep=False)
        raise
    return writer.close()
