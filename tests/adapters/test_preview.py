"""The preview rendition: which sources browsers play as they are, and the MP4 made for the rest.

Every file is made here with ffmpeg; the rendition is read back with PyAV (what a browser gets:
H.264 + AAC in MP4, the index before the media data, at most 720p, every frame).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from backend_app.adapters.vision import preview
from backend_app.adapters.vision.frames import planes
from backend_app.services.video import pipeline as video_pipeline
from backend_app.settings import load_settings
from tests import media


def _mux(video: Path, out: Path, video_args: list[str], audio: str | None = None, seconds: float = 2.0) -> Path:
    """``video`` re-encoded (or copied) with ``video_args``, with a tone in codec ``audio`` when given."""
    ffmpeg = media.require_ffmpeg()
    cmd = [ffmpeg, "-v", "error", "-y", "-i", str(video)]
    if audio:
        cmd += ["-f", "lavfi", "-t", str(seconds), "-i", "sine=frequency=440:sample_rate=48000"]
        cmd += ["-map", "0:v", "-map", "1:a", "-c:a", audio, "-ac", "2"]
    subprocess.run([*cmd, *video_args, str(out)], check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """Two seconds at 25 fps with a cut at 1 s, H.264 (the source of the other formats)."""
    return media.make_clip(tmp_path_factory.mktemp("preview") / "base.mp4", seconds=2, size=(320, 180), cuts=[1.0])


H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
CASES = [
    ("h264-aac.mp4", H264, "aac", True),
    ("h264-aac.mov", H264, "aac", True),
    ("h264-silent.mp4", H264, None, True),
    (
        "hevc-aac.mp4",
        ["-c:v", "libx265", "-preset", "ultrafast", "-tag:v", "hvc1", "-x265-params", "log-level=0"],
        "aac",
        True,
    ),
    ("vp8-vorbis.webm", ["-c:v", "libvpx", "-b:v", "300k"], "libvorbis", True),
    ("vp9-opus.webm", ["-c:v", "libvpx-vp9", "-b:v", "300k", "-deadline", "realtime"], "libopus", True),
    ("mpeg4-mp3.avi", ["-c:v", "mpeg4", "-q:v", "5"], "libmp3lame", False),
    ("mjpeg.avi", ["-c:v", "mjpeg", "-q:v", "5", "-pix_fmt", "yuvj420p"], None, False),
    ("h264-aac.mkv", H264, "aac", False),
    ("h264-mp3.mp4", H264, "libmp3lame", False),
    ("h264-444.mp4", ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p"], "aac", False),
    ("mpeg2.mpg", ["-c:v", "mpeg2video", "-q:v", "5"], "mp2", False),
]


@pytest.mark.parametrize(("name", "video_args", "audio", "playable"), CASES, ids=[c[0] for c in CASES])
def test_which_sources_browsers_play_as_they_are(base, tmp_path, name, video_args, audio, playable):
    path = _mux(base, tmp_path / name, video_args, audio)
    assert preview.browser_playable(str(path)) is playable


def test_a_file_that_is_no_video_is_not_playable(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 100)
    assert preview.browser_playable(str(junk)) is False


@pytest.mark.parametrize(
    ("size", "aspect", "short", "expected"),
    [
        ((1920, 1080, 1.0), None, 720, (1280, 720)),
        ((1080, 1920, 1.0), None, 720, (720, 1280)),
        ((320, 180, 1.0), None, 720, (320, 180)),  # never larger than the source
        ((720, 576, 64 / 45), None, 720, (1024, 576)),  # anamorphic PAL 16:9: square pixels
        ((1280, 960, 1.0), None, 720, (960, 720)),
        ((1920, 1080, 1.0), None, 360, (640, 360)),
        ((3840, 1600, 1.0), None, 720, (1280, 532)),  # scope: the long side is the limit
    ],
)
def test_preview_size(size, aspect, short, expected):
    assert preview.preview_size(*size, short_side=short) == expected


def _settings(tmp_path, **changes):
    return load_settings({}, ai_provider="offline", data_dir=str(tmp_path / "data"), **changes)


def _read(path: str) -> dict:
    with av.open(path) as container:
        video = container.streams.video[0]
        frames = [f.time for f in container.decode(video)]
        first = frames[0]
        audio = container.streams.audio
        return {
            "format": container.format.name,
            "codec": video.codec_context.name,
            "pix_fmt": video.codec_context.format.name,
            "size": (video.codec_context.width, video.codec_context.height),
            "frames": len(frames),
            "first_s": first,
            "last_s": frames[-1],
            "audio": audio[0].codec_context.name if audio else None,
            "audio_s": float(audio[0].duration * audio[0].time_base) if audio and audio[0].duration else None,
        }


def _top_level_boxes(path: str) -> list[str]:
    boxes, data = [], Path(path).read_bytes()
    offset = 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        boxes.append(data[offset + 4 : offset + 8].decode("latin-1"))
        if size < 8:
            break
        offset += size
    return boxes


def test_a_source_browsers_cannot_play_gets_an_h264_aac_preview_from_the_same_pass(base, tmp_path):
    """MPEG-4 Part 2 + MP3 in AVI at 1280x960: the preview is H.264 + AAC in MP4 at 960x720, every
    frame, the index first, as long as the source; the analysis finds the same shots as without it."""
    big = media.make_clip(tmp_path / "big.mp4", seconds=2, fps=10, size=(1280, 960), cuts=[1.0])
    source = _mux(big, tmp_path / "source.avi", ["-c:v", "mpeg4", "-q:v", "5"], "libmp3lame")
    settings = _settings(tmp_path, video_preview_height=720)
    with_preview = video_pipeline.analyse_file(str(source), str(tmp_path / "on"), settings)
    without = video_pipeline.analyse_file(str(source), str(tmp_path / "off"), _settings(tmp_path, video_preview=False))

    assert without.preview is None and with_preview.preview is not None
    made = _read(with_preview.preview)
    assert made["codec"] == "h264" and made["pix_fmt"] == "yuv420p" and made["audio"] == "aac"
    assert "mp4" in made["format"] and made["size"] == (960, 720)
    assert made["frames"] == 20 == with_preview.passed.decoded  # every frame decoded, every one encoded
    original = _read(str(source))
    assert made["last_s"] == pytest.approx(original["last_s"] - original["first_s"], abs=0.001)  # same timing
    assert made["audio_s"] == pytest.approx(2.0, abs=0.1)
    boxes = _top_level_boxes(with_preview.preview)
    assert boxes.index("moov") < boxes.index("mdat"), boxes  # faststart: playable before it has all arrived
    cuts = [s["start_frame"] for s in with_preview.shots]
    assert len(cuts) == 2 and cuts == [s["start_frame"] for s in without.shots]
    assert with_preview.timings["preview_encode"] > 0


def test_the_preview_has_every_frame_where_the_analysis_alone_skips_some(base, tmp_path):
    """H.264 4:4:4 (no browser decodes it) with B frames in MKV: alone, the pass lets the decoder skip
    non-reference frames; with a preview to encode it decodes them all, so the rendition is smooth."""
    source = _mux(
        base,
        tmp_path / "bframes.mkv",
        ["-c:v", "libx264", "-preset", "medium", "-bf", "3", "-pix_fmt", "yuv444p"],
        "aac",
    )
    alone = video_pipeline.analyse_file(str(source), str(tmp_path / "off"), _settings(tmp_path, video_preview=False))
    with_preview = video_pipeline.analyse_file(str(source), str(tmp_path / "on"), _settings(tmp_path))
    assert alone.passed.decoded < alone.passed.frames == 50
    made = _read(with_preview.preview)
    assert with_preview.passed.decoded == 50 and made["frames"] == 50 and made["size"] == (320, 180)
    assert made["codec"] == "h264" and made["pix_fmt"] == "yuv420p" and "preview_copy" not in with_preview.timings
    # The AAC sound is copied as it is, not encoded again: the same packets, byte for byte, from the
    # first picture on (a packet that ends before it, at most one, is left out).
    assert made["audio"] == "aac" and made["audio_s"] == pytest.approx(2.0, abs=0.1)
    copied, original = _audio_packets(with_preview.preview), _audio_packets(str(source))
    skipped = original.index(copied[0])
    assert skipped <= 1 and copied == original[skipped : skipped + len(copied)] and len(copied) >= len(original) - 2


def _video_packets(path: str) -> list[bytes]:
    with av.open(path) as container:
        return [bytes(p) for p in container.demux(container.streams.video[0]) if p.size]


@pytest.mark.parametrize("audio", ["aac", "libvorbis"])
def test_h264_browsers_decode_is_copied_into_mp4_and_the_pass_keeps_skipping(base, tmp_path, audio):
    """H.264 High 4:2:0 with B frames in MKV (a container browsers do not play): the preview is
    its packets, byte for byte, moved into an MP4 with the index first; nothing is encoded for
    the pictures, so the pass goes on skipping non-reference frames. The sound: AAC copied as it
    is, Vorbis encoded to AAC. The preview's frames have the source's times from its first picture."""
    source = _mux(base, tmp_path / f"bframes-{audio}.mkv", ["-c:v", "libx264", "-preset", "medium", "-bf", "3"], audio)
    out = video_pipeline.analyse_file(str(source), str(tmp_path / "work"), _settings(tmp_path))

    assert out.passed.decoded < out.passed.frames == 50  # still skipping: no frame was needed for the preview
    assert "preview_copy" in out.timings and "preview_encode" not in out.timings
    made, original = _read(out.preview), _read(str(source))
    assert made["codec"] == "h264" and "mp4" in made["format"] and made["size"] == (320, 180)
    assert _video_packets(out.preview) == _video_packets(str(source))  # not re-encoded: the same bytes
    assert made["frames"] == original["frames"] == 50
    assert made["first_s"] == pytest.approx(0.0, abs=0.001)
    assert made["last_s"] == pytest.approx(original["last_s"] - original["first_s"], abs=0.001)
    boxes = _top_level_boxes(out.preview)
    assert boxes.index("moov") < boxes.index("mdat"), boxes
    assert made["audio"] == "aac" and made["audio_s"] == pytest.approx(2.0, abs=0.1)
    if audio == "aac":
        copied, sound = _audio_packets(out.preview), _audio_packets(str(source))
        assert copied == sound[sound.index(copied[0]) :][: len(copied)] and len(copied) >= len(sound) - 2
    # the analysis is the same as without a preview
    alone = video_pipeline.analyse_file(str(source), str(tmp_path / "off"), _settings(tmp_path, video_preview=False))
    assert [s["start_frame"] for s in out.shots] == [s["start_frame"] for s in alone.shots]


def test_copying_can_be_turned_off(base, tmp_path):
    """VIDEO_PREVIEW_COPY=false: the same MKV is encoded at VIDEO_PREVIEW_HEIGHT, every frame decoded."""
    source = _mux(base, tmp_path / "plain.mkv", ["-c:v", "libx264", "-preset", "medium", "-bf", "3"], "aac")
    out = video_pipeline.analyse_file(
        str(source),
        str(tmp_path / "work"),
        _settings(tmp_path, video_preview_copy=False, video_preview_height=144),
    )
    made = _read(out.preview)
    assert "preview_encode" in out.timings and made["size"] == (256, 144) and out.passed.decoded == 50


COPY_CASES = [
    ("h264.mkv", ["-c:v", "libx264", "-preset", "ultrafast"], True),
    ("h264-mp3.mp4", ["-c:v", "libx264", "-preset", "ultrafast"], True),  # only the sound is not for browsers
    ("h264-444.mkv", ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p"], False),
    ("h264-10bit.mkv", ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le"], False),
    ("h264.ts", ["-c:v", "libx264", "-preset", "ultrafast"], False),  # Annex B: MP4 wants avcC
    ("h264-sar2.mkv", ["-c:v", "libx264", "-preset", "ultrafast", "-vf", "setsar=2"], False),  # anamorphic
    ("h264-1080p.mkv", ["-c:v", "libx264", "-preset", "ultrafast", "-vf", "scale=1920:1080", "-frames:v", "2"], False),
    ("mpeg4.avi", ["-c:v", "mpeg4"], False),
]


@pytest.mark.parametrize(("name", "video_args", "copied"), COPY_CASES, ids=[c[0] for c in COPY_CASES])
def test_which_sources_are_copied_and_which_encoded(base, tmp_path, name, video_args, copied):
    """Copied: H.264 every current browser decodes (8-bit 4:2:0, Baseline/Main/High, avcC, square
    pixels, at most 720p), only in the wrong container or with the wrong sound. The rest is encoded."""
    audio = "libmp3lame" if "mp3" in name else None
    path = _mux(base, tmp_path / name, video_args, audio)
    with av.open(str(path)) as container:
        origin = preview.copy_origin(container, container.streams.video[0])
    assert (origin is not None) is copied
    writer = preview.open_writer(str(path), str(tmp_path), 320, 180, 25.0)
    assert isinstance(writer, preview.PreviewCopy if copied else preview.PreviewWriter)
    writer.close(keep=False)
    assert not (tmp_path / preview.OUTPUT_NAME).exists()


def _audio_packets(path: str) -> list[bytes]:
    with av.open(path) as container:
        return [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]


def test_a_source_browsers_play_gets_no_preview_and_keeps_skipping(base, tmp_path):
    source = _mux(base, tmp_path / "ok.mp4", ["-c:v", "libx264", "-preset", "medium", "-bf", "3"], "aac")
    out = video_pipeline.analyse_file(str(source), str(tmp_path / "work"), _settings(tmp_path))
    assert out.preview is None and "preview_encode" not in out.timings
    assert out.passed.decoded < out.passed.frames
    assert not (tmp_path / "work" / preview.OUTPUT_NAME).exists()


def test_a_failed_pass_leaves_no_preview_behind(tmp_path):
    """The pass stops half way (here its progress callback fails, as a deleted analysis's does):
    the preview writer is abandoned and no half-written file stays in the work dir."""
    clip = media.make_clip(tmp_path / "long.mp4", seconds=12, fps=25, size=(160, 90))
    source = _mux(clip, tmp_path / "long.avi", ["-c:v", "mpeg4", "-q:v", "5"])
    work = tmp_path / "work"

    def stop(fraction: float) -> None:
        raise RuntimeError("stopped")

    with pytest.raises(RuntimeError, match="stopped"):
        video_pipeline.analyse_file(str(source), str(work), _settings(tmp_path), on_progress=stop)
    assert work.is_dir() and not (work / preview.OUTPUT_NAME).exists()


def _luma(path: str) -> list[np.ndarray]:
    with av.open(path) as container:
        return [planes(f)[0].copy() for f in container.decode(container.streams.video[0])]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    error = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 99.0 if error == 0 else 10 * np.log10(255.0**2 / error)


@pytest.mark.parametrize("short", [180, 240], ids=["halved", "resized"])
def test_every_preview_frame_shows_its_own_source_frame(tmp_path, short):
    """The encoder is handed the same picture for every frame, written again each time: each
    frame of the preview must still show its own source frame (the square moves 4 px a frame),
    not a neighbour's, at an exact halving and at a size whose rows are padded in memory."""
    source = media.make_clip(tmp_path / "moving.avi", seconds=1, fps=25, size=(640, 360), codec="mpeg4")
    out = video_pipeline.analyse_file(
        str(source), str(tmp_path / "work"), _settings(tmp_path, video_preview_height=short)
    )
    made, original = _luma(out.preview), _luma(str(source))
    size = preview.preview_size(640, 360, short_side=short)  # 320x180, 426x238
    assert len(made) == len(original) == 25 and made[0].shape == size[::-1]
    how = cv2.INTER_AREA if short == 180 else cv2.INTER_LINEAR
    expected = [cv2.resize(y, size, interpolation=how) for y in original]
    for i in range(1, 24):
        own = _psnr(made[i], expected[i])
        neighbours = max(_psnr(made[i], expected[i - 1]), _psnr(made[i], expected[i + 1]))
        assert own > 30 and own > neighbours + 3, (i, own, neighbours)
