"""The vision adapter on real H.264 files made by ffmpeg: metadata, shots, keyframe findings, refusals."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from backend_app.adapters import vision
from backend_app.adapters.vision import VisionError, keyframes
from tests import media
from tests import video_scenes as scenes

LIMITS = vision.Limits(max_duration_s=3600, max_pixels=3840 * 2160, max_frames=600_000)
FPS = 25
QR_TEXT = "https://framewise.test/shot?id=42"


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, tuple[Path, list[int]]]:
    """name -> (path, true cut frames). Each clip is at most 6 s of 320x180."""
    media.require_ffmpeg()
    d = tmp_path_factory.mktemp("clips")
    return {
        "textured": (scenes.cut_clip(d / "textured.mp4", [30, 61, 95], 125), [30, 61, 95]),
        "squares": (media.make_clip(d / "squares.mp4", seconds=5, cuts=[1.2, 2.5, 3.9]), [30, 62, 98]),
        "flash": (scenes.cut_clip(d / "flash.mp4", [70], 125, flash_frames=[25, 100]), [70]),
        "double_flash": (scenes.cut_clip(d / "flash2.mp4", [50], 125, flash_frames=[20, 21, 90, 91]), [50]),
        "fade": (scenes.fade_clip(d / "fade.mp4", 150), []),
        "face_qr": (
            scenes.scenes_clip(
                d / "face_qr.mp4",
                [
                    (50, lambda i: scenes.draw_face(dx=i % 3)),
                    (50, lambda i: scenes.draw_qr(QR_TEXT)),
                    (50, lambda i: scenes.textured(5, i)),
                ],
            ),
            [50, 100],
        ),
    }


def run(path: Path, stride: int = 1, pictures: dict | None = None) -> vision.PassResult:
    """One pass; each shot's keyframe picture goes into ``pictures`` (shot index -> BGR) if given."""
    meta = vision.probe(str(path), LIMITS)
    keep = (lambda record, picture: pictures.__setitem__(record.index, picture)) if pictures is not None else None
    return vision.decode_pass(str(path), meta, LIMITS, stride=stride, on_shot=keep)


def test_probe_reads_the_real_metadata(clips):
    path, _ = clips["textured"]
    meta = vision.probe(str(path), LIMITS)
    assert (meta.width, meta.height, meta.fps, meta.frame_count) == (320, 180, 25.0, 125)
    assert meta.duration_s == pytest.approx(5.0)
    assert meta.codec == "h264"
    assert meta.file_size == path.stat().st_size
    assert meta.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert meta.bitrate == pytest.approx(path.stat().st_size * 8 / 5.0, rel=0.01)


def matches(found: list[int], truth: list[int], tolerance: int) -> tuple[float, float]:
    """(recall, precision) of found cut frames against the truth, within ``tolerance`` frames."""
    hit_truth = sum(1 for t in truth if any(abs(f - t) <= tolerance for f in found))
    hit_found = sum(1 for f in found if any(abs(f - t) <= tolerance for t in truth))
    recall = hit_truth / len(truth) if truth else 1.0
    precision = hit_found / len(found) if found else (1.0 if not truth else 0.0)
    return recall, precision


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("name", ["textured", "squares", "flash", "double_flash", "fade", "face_qr"])
def test_shot_boundaries_match_the_known_cuts_within_one_frame(clips, tmp_path, name, stride):
    path, truth = clips[name]
    result = run(path, stride)
    assert matches(result.cuts, truth, tolerance=1) == (1.0, 1.0), (result.cuts, truth)
    assert len(result.shots) == len(truth) + 1
    assert result.frames == {"fade": 150, "face_qr": 150}.get(name, 125)
    if stride == 1:
        assert result.cuts == truth  # every frame analysed: exact


def test_a_held_frame_is_never_analysed_after_a_later_one(tmp_path):
    """With B-frames skipped, a decoded frame held back for the stride was sent later, after a
    newer one, when a gap opened: cuts came out [125, 185, 184] and a third shot ran backwards."""
    path = tmp_path / "stale.mp4"
    subprocess.run(
        [
            media.require_ffmpeg(),
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=25,trim=end_frame=125",
            "-f",
            "lavfi",
            "-i",
            "smptebars=size=320x240:rate=25,trim=end_frame=60",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25,trim=end_frame=15",
            "-filter_complex",
            "[0][1][2]concat=n=3:v=1[v]",
            "-map",
            "[v]",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            "-g",
            "50",
            str(path),
        ],
        check=True,
    )
    result = run(path, stride=2)
    assert matches(result.cuts, [125, 185], tolerance=1) == (1.0, 1.0), result.cuts
    assert [(s.start_frame, s.end_frame) for s in result.shots] == [
        (0, result.cuts[0] - 1),
        (result.cuts[0], result.cuts[1] - 1),
        (result.cuts[1], 199),
    ]


def test_sampling_skips_non_reference_frames_and_keeps_gaps_within_the_stride(clips, tmp_path):
    path, truth = clips["textured"]
    every = run(path, stride=1)
    assert every.decoded == every.samples == every.frames == 125
    skipping = run(path, stride=2)
    assert skipping.decoded < 0.8 * skipping.frames  # x264's non-reference B frames are not decoded
    assert skipping.samples <= skipping.decoded
    assert skipping.frames == 125


def test_b_frames_in_runs_turn_skipping_off_and_cuts_stay_within_one_frame(tmp_path):
    """Without a B-pyramid three non-reference frames come in a row: wider than stride 2 allows."""
    path = scenes.encode(
        tmp_path / "no_pyramid.mp4",
        (scenes.textured(sum(1 for c in (40, 77, 103) if i >= c), i) for i in range(125)),
        codec=(
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-preset",
            "veryfast",
            "-bf",
            "3",
            "-b_strategy",
            "0",
            "-x264-params",
            "b-pyramid=none:scenecut=0",
        ),
    )
    result = run(path, stride=2)
    assert matches(result.cuts, [40, 77, 103], tolerance=1) == (1.0, 1.0), result.cuts
    assert result.decoded > 0.9 * result.frames


def squares_encoded(truth, tmp_path, name: str, ext: str, codec: tuple[str, ...]):
    """The "squares" clip (125 frames, cuts at ``truth``) encoded again with other ffmpeg options."""
    frames = (media.shot_frame(i, sum(1 for c in truth if i >= c), 320, 180, FPS) for i in range(125))
    return scenes.encode(tmp_path / f"{name}.{ext}", (frame[:, :, ::-1] for frame in frames), codec=codec)


PIXEL_FORMATS = {
    "yuvj420p": ("avi", ("-c:v", "mjpeg", "-q:v", "3", "-pix_fmt", "yuvj420p")),
    "full_range": (
        "mp4",
        (
            "-vf",
            "scale=out_range=full",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            "-color_range",
            "pc",
        ),
    ),
    **{
        fmt: ("mkv", ("-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", fmt))
        for fmt in ("yuv422p", "yuv444p", "yuv420p10le", "nv12")
    },
}


@pytest.mark.parametrize("pix_fmt", list(PIXEL_FORMATS))
def test_other_pixel_formats_give_the_same_cuts_and_brightness(clips, tmp_path, pix_fmt):
    """Planes other than 8-bit limited-range 4:2:0 are converted, never misread."""
    path, truth = clips["squares"]
    other = squares_encoded(truth, tmp_path, pix_fmt, *PIXEL_FORMATS[pix_fmt])
    reference = run(path, stride=2)
    result = run(other, stride=2)
    assert matches(result.cuts, truth, tolerance=1) == (1.0, 1.0), result.cuts
    for shot, ref in zip(result.shots, reference.shots):
        assert shot.brightness == pytest.approx(ref.brightness, abs=0.02)
        assert shot.contrast == pytest.approx(ref.contrast, abs=0.02)


CONTAINERS = {
    "mpegts": ("ts", ("-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast", "-f", "mpegts")),
    "avi_mpeg4_b_frames": ("avi", ("-c:v", "mpeg4", "-q:v", "4", "-bf", "2")),  # first pts 1, stream start 0
    "mpeg2_b_frames": ("mpg", ("-c:v", "mpeg2video", "-q:v", "4", "-bf", "2")),  # B frames in runs of two
    "webm_vp9": ("webm", ("-c:v", "libvpx-vp9", "-b:v", "500k", "-pix_fmt", "yuv420p")),
    "mov_hevc": (
        "mov",
        ("-c:v", "libx265", "-pix_fmt", "yuv420p", "-preset", "ultrafast", "-x265-params", "log-level=error"),
    ),
}


@pytest.mark.parametrize("name", list(CONTAINERS))
def test_frame_numbers_hold_across_containers_and_codecs(clips, tmp_path, name):
    """Frame n is the n-th frame decoded, whatever timestamps the container starts at."""
    _, truth = clips["squares"]
    path = squares_encoded(truth, tmp_path, name, *CONTAINERS[name])
    every = run(path, stride=1)
    assert every.cuts == truth and every.frames == 125
    sampled = run(path, stride=2)
    assert matches(sampled.cuts, truth, tolerance=1) == (1.0, 1.0), sampled.cuts


def test_shots_tile_the_video_and_have_one_keyframe_each(clips, tmp_path):
    path, truth = clips["textured"]
    pictures: dict = {}
    result = run(path, stride=2, pictures=pictures)
    starts = [s.start_frame for s in result.shots]
    assert starts == [0, *result.cuts]
    assert [s.end_frame + 1 for s in result.shots[:-1]] == result.cuts
    assert result.shots[-1].end_frame == result.frames - 1
    for shot in result.shots:
        assert pictures[shot.index].shape == (180, 320, 3)
        length = shot.end_frame - shot.start_frame + 1
        assert shot.start_frame + 0.25 * length - 2 <= shot.keyframe_frame <= shot.start_frame + 0.75 * length + 2


def test_flash_frames_are_counted_not_cut(clips, tmp_path):
    path, _ = clips["flash"]
    result = run(path)
    assert sum(s.flashes for s in result.shots) == 2


def test_a_slow_fade_is_one_shot_whose_brightness_follows_the_fade(clips, tmp_path):
    path, _ = clips["fade"]
    result = run(path)
    assert len(result.shots) == 1
    brightness = [p["brightness"] for p in result.timeline]
    assert min(brightness) < 0.5 * max(brightness)


def test_keyframes_show_the_face_and_decode_the_qr_code(clips, tmp_path):
    path, _ = clips["face_qr"]
    pictures: dict = {}
    result = run(path, stride=2, pictures=pictures)
    found = [keyframes.inspect(pictures[s.index], str(tmp_path / f"t{s.index}.jpg")) for s in result.shots]
    assert [f["faces"] for f in found] == [1, 0, 0]
    assert [f["qr_texts"] for f in found] == [[], [QR_TEXT], []]
    assert found[1]["colors"][0]["name"] == "white"
    assert all((tmp_path / f"t{s.index}.jpg").read_bytes()[:2] == b"\xff\xd8" for s in result.shots)


@pytest.mark.parametrize("turn", [90, -90, 180])
def test_a_phone_video_stored_turned_gives_upright_keyframes(tmp_path, turn):
    """Phones store portrait video as landscape frames and a display matrix; keyframes are turned
    as players show them (and as the probe's size says), so the face is upright and is found."""
    import cv2

    display = (180, 320) if turn != 180 else (320, 180)
    stored_turn = {90: cv2.ROTATE_90_CLOCKWISE, -90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180}[turn]
    stored_size = (display[1], display[0]) if turn != 180 else display
    plain = scenes.encode(
        tmp_path / "stored.mp4",
        (cv2.rotate(scenes.draw_face(display, dx=i % 3), stored_turn) for i in range(40)),
        size=stored_size,
    )
    path = tmp_path / "phone.mp4"
    subprocess.run(
        [
            media.require_ffmpeg(),
            "-v",
            "error",
            "-y",
            "-i",
            str(plain),
            "-c",
            "copy",
            "-metadata:s:v:0",
            f"rotate={turn}",
            str(path),
        ],
        check=True,
    )
    meta = vision.probe(str(path), LIMITS)
    assert (meta.width, meta.height) == display
    pictures: dict = {}
    result = run(path, stride=2, pictures=pictures)
    picture = pictures[result.shots[0].index]
    assert picture.shape[:2] == (display[1], display[0])
    shown = cv2.VideoCapture(str(path))  # OpenCV turns frames as the display matrix says
    ok, first = shown.read()
    shown.release()
    assert ok and float(abs(picture.astype(int) - first.astype(int)).mean()) < 8
    assert keyframes.inspect(picture, str(tmp_path / "t.jpg"))["faces"] == 1


def test_motion_separates_a_static_shot_from_a_moving_one_and_frozen_pictures_are_found(tmp_path):
    path = scenes.scenes_clip(
        tmp_path / "motion.mp4", [(60, lambda i: scenes.textured(1, 0)), (40, lambda i: scenes.textured(2, i * 4))]
    )
    result = run(path)
    assert [s.start_frame for s in result.shots] == [0, 60]
    assert result.shots[0].motion < 0.0003 < result.shots[1].motion
    assert len(result.frozen) == 1
    start, end = result.frozen[0]
    assert start == 0.0 and 2.2 <= end <= 2.5


def test_a_small_thing_moving_slowly_is_no_frozen_picture(tmp_path):
    """A ball rolling 1 px a frame over a still background changes little of the picture on
    average, but it moves: only a picture with (almost) no changed pixels is frozen."""
    import cv2

    def ball(i):
        frame = scenes.textured(1, 0)
        cv2.circle(frame, (60 + i, 90), 14, (0, 0, 255), -1)
        return frame

    path = scenes.scenes_clip(tmp_path / "ball.mp4", [(100, ball)])
    result = run(path)
    assert result.frozen == [] and len(result.shots) == 1


def test_a_plain_coloured_shot_is_not_shaky(tmp_path):
    """A plain red picture has no structure: its 'shift' was phase correlation of coding noise
    (~30 px a frame), so the report called the shot shaky."""
    import numpy as np

    red = np.full((180, 320, 3), (0, 0, 220), np.uint8)
    path = scenes.scenes_clip(
        tmp_path / "red.mp4",
        [(40, lambda i: scenes.textured(1, 0)), (40, lambda i: red), (40, lambda i: scenes.textured(2, 0))],
    )
    result = run(path, stride=2)
    assert [s.start_frame for s in result.shots] == [0, 40, 80]
    assert max(s.jitter for s in result.shots) < 0.5, [s.jitter for s in result.shots]


def test_black_frames_are_found(tmp_path):
    import numpy as np

    black = np.zeros((180, 320, 3), np.uint8)
    path = scenes.scenes_clip(
        tmp_path / "black.mp4",
        [(25, lambda i: scenes.textured(1, i)), (25, lambda i: black), (25, lambda i: scenes.textured(2, i))],
    )
    result = run(path)
    assert len(result.black) == 1
    assert result.black[0][0] == pytest.approx(1.0, abs=0.1) and result.black[0][1] == pytest.approx(2.0, abs=0.1)


# --- refusals: every malformed input has its code ------------------------------------------------


def ffmpeg(*args: str) -> None:
    subprocess.run([media.require_ffmpeg(), "-v", "error", "-y", *args], check=True, timeout=120)


def lavfi(path: Path, *codec: str, seconds: float = 2) -> Path:
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-t", str(seconds), *codec, str(path))
    return path


def code_of(path: Path, limits: vision.Limits = LIMITS, tmp_path: Path | None = None) -> str:
    with pytest.raises(VisionError) as caught:
        meta = vision.probe(str(path), limits)
        vision.decode_pass(str(path), meta, limits)
    return caught.value.code


def test_zero_bytes_and_text_are_unreadable(tmp_path):
    (tmp_path / "zero.mp4").write_bytes(b"")
    (tmp_path / "text.mp4").write_text("this is not a video\n" * 50)
    assert code_of(tmp_path / "zero.mp4") == "VIDEO_UNREADABLE"
    assert code_of(tmp_path / "text.mp4") == "VIDEO_UNREADABLE"
    assert code_of(tmp_path / "missing.mp4") == "VIDEO_UNREADABLE"


def test_truncated_mp4s_are_unreadable(tmp_path):
    whole = lavfi(tmp_path / "whole.mp4", "-c:v", "libx264", "-pix_fmt", "yuv420p")
    front = lavfi(tmp_path / "front.mp4", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart")
    (tmp_path / "no_index.mp4").write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    (tmp_path / "cut_short.mp4").write_bytes(front.read_bytes()[: front.stat().st_size // 3])
    assert code_of(tmp_path / "no_index.mp4") == "VIDEO_UNREADABLE"  # the index (moov) is at the end: lost
    assert code_of(tmp_path / "cut_short.mp4") == "VIDEO_UNREADABLE"  # opens, but ends after a third


def test_any_codec_ffmpeg_decodes_is_taken_and_one_without_a_decoder_is_refused_by_name(tmp_path):
    """No allowlist: lossless FFV1 and an animated GIF were UNSUPPORTED_CODEC although PyAV decodes
    both; an AVI whose FourCC no decoder knows is refused naming that FourCC."""
    for path in (lavfi(tmp_path / "lossless.mkv", "-c:v", "ffv1"), lavfi(tmp_path / "anim.gif", seconds=0.5)):
        meta = vision.probe(str(path), LIMITS)
        passed = vision.decode_pass(str(path), meta, LIMITS)
        assert passed.frames == meta.frame_count > 0 and meta.codec in ("ffv1", "gif")
    avi = bytearray(lavfi(tmp_path / "mp43.avi", "-c:v", "msmpeg4").read_bytes())
    (tmp_path / "zzzz.avi").write_bytes(bytes(avi).replace(b"MP43", b"ZZZZ").replace(b"mp43", b"zzzz"))
    with pytest.raises(VisionError) as caught:
        vision.probe(str(tmp_path / "zzzz.avi"), LIMITS)
    assert caught.value.code == "UNSUPPORTED_CODEC" and "'ZZZZ'" in caught.value.message


def test_no_video_stream_encrypted_and_zero_frames_are_refused_before_decoding(tmp_path):
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(tmp_path / "sound.mp4"))
    ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-t", "1", "-c:v", "libx264"),
        *("-encryption_scheme", "cenc-aes-ctr", "-encryption_key", "76a6c65c5ea762046bd749a2e632ccbb"),
        *("-encryption_kid", "a7e61c373e219033c21091fa607bf3b8", str(tmp_path / "drm.mp4")),
    )
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x180:rate=25",
        "-frames:v",
        "0",
        "-c:v",
        "mjpeg",
        str(tmp_path / "zero.avi"),
    )
    refused = {}
    for name in ("sound.mp4", "drm.mp4", "zero.avi"):
        with pytest.raises(VisionError) as caught:
            vision.probe(str(tmp_path / name), LIMITS)
        refused[name] = caught.value.code
    assert refused == {"sound.mp4": "NO_VIDEO_STREAM", "drm.mp4": "VIDEO_ENCRYPTED", "zero.avi": "NO_DECODABLE_FRAMES"}


def test_zero_or_missing_fps_is_refused(tmp_path):
    path = lavfi(tmp_path / "clip.mp4", "-c:v", "libx264", "-pix_fmt", "yuv420p")
    data = bytearray(path.read_bytes())
    at = data.find(b"mdhd")
    data[at + 16 : at + 20] = (0).to_bytes(4, "big")  # the track's time scale: no frame rate left
    (tmp_path / "no_fps.mp4").write_bytes(bytes(data))
    assert code_of(tmp_path / "no_fps.mp4") == "INVALID_FPS"


def test_a_bare_stream_without_length_has_no_metadata(tmp_path):
    path = lavfi(tmp_path / "bare.h264", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "h264")
    assert code_of(path) == "METADATA_EXTRACTION_FAILED"


def test_limits_refuse_too_large_and_too_long(clips):
    path, _ = clips["textured"]  # 320x180, 5 s, 125 frames
    assert code_of(path, vision.Limits(3600, 320 * 179, 600_000)) == "VIDEO_TOO_LARGE"
    assert code_of(path, vision.Limits(4.0, 3840 * 2160, 600_000)) == "VIDEO_TOO_LONG"
    assert code_of(path, vision.Limits(3600, 3840 * 2160, 100)) == "VIDEO_TOO_LONG"
    vision.probe(str(path), vision.Limits(5.0, 320 * 180, 125))  # exactly at the limits: accepted


def test_a_small_qr_code_in_a_large_keyframe_is_read_and_a_picture_without_one_has_none():
    import cv2
    import numpy as np

    view = np.full((540, 960, 3), 200, np.uint8)  # a 1080p frame's keyframe view; the code ~25% of its width
    view[300:435, 600:840] = cv2.resize(scenes.draw_qr(QR_TEXT), (240, 135), interpolation=cv2.INTER_AREA)
    assert keyframes.qr_texts(view) == [QR_TEXT]
    assert keyframes.qr_texts(cv2.resize(scenes.textured(2, 0), (960, 540))) == []


def test_decoder_threads_keep_frames_in_flight_by_frame_size_and_one_a_core_above(monkeypatch):
    from backend_app.adapters.vision import frames

    monkeypatch.setattr(frames.os, "cpu_count", lambda: 2)
    assert frames.frame_threads(1920, 1080) == 6
    assert frames.frame_threads(1280, 720) == 8
    assert frames.frame_threads(2560, 1440) == 3
    assert frames.frame_threads(3840, 2160) == 2  # 4K frames: one thread a core, as many frames as before
    assert frames.frame_threads(640, 360) == 1  # SD: a core is left to the analysis
    assert frames.frame_threads(640, 480) == 1
    monkeypatch.setattr(frames.os, "cpu_count", lambda: 1)
    assert frames.frame_threads(640, 360) == 1
    monkeypatch.setattr(frames.os, "cpu_count", lambda: 4)
    assert frames.frame_threads(640, 360) == 3
    monkeypatch.setattr(frames.os, "cpu_count", lambda: 32)
    assert frames.frame_threads(3840, 2160) == 16
    assert frames.frame_threads(1920, 1080) == 16
    assert frames.frame_threads(640, 360) == 8


def test_frames_waiting_for_the_analysis_are_bounded_by_their_bytes():
    from backend_app.adapters.vision import decode

    assert decode.queue_frames(1920, 1080) == 4  # what a 10-minute 1080p pass's memory was measured with
    assert decode.queue_frames(3840, 2160) == 4  # never fewer
    assert decode.queue_frames(1280, 720) == 9
    assert decode.queue_frames(640, 360) == 32  # at most 32, ~11 MB
    assert decode.queue_frames(1, 1) == 32


def test_a_pass_limits_opencvs_thread_pool_only_while_it_runs(clips, tmp_path):
    import cv2

    before = cv2.getNumThreads()
    seen = []
    cv2.setNumThreads(3)
    try:
        meta = vision.probe(str(clips["textured"][0]), LIMITS)
        vision.decode_pass(
            str(clips["textured"][0]),
            meta,
            LIMITS,
            stride=2,
            on_shot=lambda record, picture: seen.append(cv2.getNumThreads()),
        )
        assert seen and set(seen) == {1}
        assert cv2.getNumThreads() == 3
    finally:
        cv2.setNumThreads(before)


def damage(source: Path, target: Path, *, at: list[float], length: int = 3000) -> Path:
    """A copy of ``source`` with ``length`` random bytes written at each share ``at`` of its size."""
    import random

    data = bytearray(source.read_bytes())
    rng = random.Random(7)
    for share in at:
        start = int(len(data) * share)
        data[start : start + length] = bytes(rng.randrange(256) for _ in range(length))
    target.write_bytes(bytes(data))
    return target


@pytest.mark.parametrize("stride", [1, 2])
def test_damaged_data_mid_file_is_passed_over_and_the_rest_analysed(clips, tmp_path, stride):
    """Before, the first packet the decoder could not read ended the pass (and, before half, the job)."""
    path, truth = clips["textured"]  # 125 frames at 25 fps, cuts at 30, 61, 95
    whole = run(path, stride=stride)
    result = run(damage(path, tmp_path / "damaged.mp4", at=[0.36, 0.7]), stride=stride)
    assert whole.damaged_packets == 0 and whole.damaged == []
    assert result.damaged_packets >= 1 and result.damaged
    assert all(0.0 <= a <= b <= 5.0 for a, b in result.damaged)
    assert result.frames == whole.frames == 125 and result.shots[-1].end_frame == 124  # not cut short
    assert result.samples > 0.6 * whole.samples
    # Cuts clear of the damage are found as in the whole file. (Damage is dated by the packet the
    # decoder refused: one decoding thread dates it exactly, frame threads a few frames late.)
    clear = [c for c in truth if all(not a * FPS - 1 <= c <= b * FPS + 1 for a, b in result.damaged)]
    assert clear and all(any(abs(c - found) <= 1 for found in result.cuts) for c in clear)


def test_a_file_mostly_damaged_is_unreadable(clips, tmp_path):
    path, _ = clips["textured"]
    shares = [0.2 + 0.65 * k / 20 for k in range(21)]  # random bytes over most of the coded frames, not the first
    ruined = damage(path, tmp_path / "ruined.mp4", at=shares, length=1500)
    meta = vision.probe(str(ruined), LIMITS)
    with pytest.raises(VisionError) as caught:
        vision.decode_pass(str(ruined), meta, LIMITS)
    assert caught.value.code == "VIDEO_UNREADABLE" and "frames could not be decoded" in str(caught.value)


def test_damaged_and_foreign_files_write_nothing_to_stderr_between_the_json_logs(clips, tmp_path):
    """OpenCV and its FFmpeg used to print their complaints as plain text on stderr."""
    import sys

    damaged = damage(clips["textured"][0], tmp_path / "damaged.mp4", at=[0.36, 0.7])
    (tmp_path / "text.mp4").write_text("this is not a video\n" * 50)
    script = (
        "import sys\n"
        "from backend_app.adapters import vision\n"
        "from backend_app.adapters.vision import VisionError\n"
        "limits = vision.Limits(max_duration_s=3600, max_pixels=3840 * 2160, max_frames=600_000)\n"
        "meta = vision.probe(sys.argv[1], limits)\n"
        "print(vision.decode_pass(sys.argv[1], meta, limits).damaged_packets)\n"
        "try:\n"
        "    vision.probe(sys.argv[2], limits)\n"
        "except VisionError as failure:\n"
        "    print(failure.code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(damaged), str(tmp_path / "text.mp4")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    damaged_count, code = done.stdout.split()
    assert int(damaged_count) >= 1 and code == "VIDEO_UNREADABLE"
    assert done.stderr == ""


def test_colour_names_match_what_people_call_the_swatch():
    """A browser review found #792bd6 named 'blue' and #a1f708 'yellow'."""
    import numpy as np

    def name(hex_colour: str) -> str:
        r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        return keyframes.colors(np.full((36, 64, 3), (b, g, r), np.uint8))[0]["name"]

    assert {h: name(h) for h in ("#792bd6", "#a1f708", "#0000ff", "#1e90ff", "#800080", "#ffff00", "#000080")} == {
        "#792bd6": "violet",
        "#a1f708": "lime",
        "#0000ff": "blue",
        "#1e90ff": "sky blue",
        "#800080": "purple",
        "#ffff00": "yellow",
        "#000080": "navy",
    }
    # A review of real footage: mid blues were called purple.
    assert {h: name(h) for h in ("#2040a0", "#3060a0", "#3f51b5", "#673ab7")} == {
        "#2040a0": "blue",
        "#3060a0": "blue",
        "#3f51b5": "blue",
        "#673ab7": "purple",
    }


def test_colour_bars_are_named_as_the_bars_they_are_not_as_their_mixtures():
    """Clustering first named six colour bars "violet and orange" (blue with magenta, red with
    yellow) and lost the green: every named colour must be one the picture shows."""
    import numpy as np

    bars = {
        "red": (0, 0, 255),
        "green": (0, 200, 0),
        "yellow": (0, 255, 255),
        "blue": (255, 0, 0),
        "magenta": (255, 0, 255),
        "cyan": (255, 255, 0),
    }
    picture = np.zeros((360, 640, 3), np.uint8)
    for n, bgr in enumerate(bars.values()):
        picture[:, n * 640 // 6 : (n + 1) * 640 // 6] = bgr
    found = keyframes.colors(picture)
    assert sorted(c["name"] for c in found) == sorted(bars)
    for colour in found:
        assert abs(colour["share"] - 1 / 6) < 0.03, found
        wanted = "#{:02x}{:02x}{:02x}".format(*tuple(reversed(bars[colour["name"]])))
        assert all(abs(int(colour["hex"][i : i + 2], 16) - int(wanted[i : i + 2], 16)) <= 24 for i in (1, 3, 5)), found
    # Two colours with a thin stripe: the stripe (under 5 %) is not a dominant colour.
    picture[:] = (0, 0, 255)
    picture[:, 320:] = (255, 0, 0)
    picture[:10] = (0, 200, 0)
    assert sorted(c["name"] for c in keyframes.colors(picture)) == ["blue", "red"]


def _report(path: Path, tmp_path: Path) -> dict:
    """The whole analysis of ``path`` as the job makes it (offline describer), its report."""
    from backend_app.services.video.pipeline import analyse_file, describe_and_report
    from backend_app.settings import load_settings

    settings = load_settings({}, ai_provider="offline", mock_mode=True, data_dir=str(tmp_path / "data"))
    work = tmp_path / f"work-{path.stem}"
    work.mkdir()
    return describe_and_report(analyse_file(str(path), str(work), settings), settings, user_id=None)


def _ffmpeg(*args: str) -> None:
    subprocess.run([media.require_ffmpeg(), "-v", "error", "-y", *args], check=True)


H264 = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]


def test_lengths_come_from_the_video_stream_not_the_container(tmp_path):
    """A trimmed MP4 (edit list) counted its cut-away frames; an MKV whose audio runs on was
    'incomplete' (or refused under half); a browser's WebM without a duration was refused."""
    six = tmp_path / "six.mp4"
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=25:duration=3",
        "-f",
        "lavfi",
        "-i",
        "smptebars=size=320x240:rate=25:duration=3",
        "-filter_complex",
        "[0][1]concat=n=2:v=1[v]",
        "-map",
        "[v]",
        *H264,
        "-g",
        "50",
        str(six),
    )
    trimmed = tmp_path / "trimmed.mp4"
    _ffmpeg("-ss", "1.5", "-i", str(six), "-c", "copy", str(trimmed))
    report = _report(trimmed, tmp_path)
    assert report["metadata"]["frame_count"] == 112 and report["metadata"]["duration_s"] == pytest.approx(4.48)
    assert "PARTIAL_DECODE" not in [w["code"] for w in report["warnings"]]
    assert matches(report["analysis"]["cut_frames"], [37], tolerance=1) == (1.0, 1.0)

    long_audio = tmp_path / "long_audio.mkv"
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=25:duration=3",
        "-f",
        "lavfi",
        "-i",
        "sine=duration=7",
        *H264,
        "-c:a",
        "libopus",
        str(long_audio),
    )
    report = _report(long_audio, tmp_path)
    assert (report["metadata"]["frame_count"], report["metadata"]["duration_s"]) == (75, 3.0)
    assert "PARTIAL_DECODE" not in [w["code"] for w in report["warnings"]]

    live = tmp_path / "live.webm"  # written to a pipe, as MediaRecorder does: no duration anywhere
    with open(live, "wb") as handle:
        subprocess.run(
            [
                media.require_ffmpeg(),
                "-v",
                "error",
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=320x240:rate=30:duration=3",
                "-c:v",
                "libvpx",
                "-deadline",
                "realtime",
                "-cpu-used",
                "8",
                "-f",
                "webm",
                "-",
            ],
            stdout=handle,
            check=True,
        )
    assert vision.probe(str(live), LIMITS).length_known is False
    report = _report(live, tmp_path)
    assert (report["metadata"]["frame_count"], report["metadata"]["duration_s"]) == (90, 3.0)


def test_a_variable_frame_rate_keeps_its_times(tmp_path):
    """Joined 25 and 50 fps parts: frame numbers were pushed on past the nominal rate, so the
    report said 4.7 s and 174 frames for 4 s and 150; now times hold and the cut is at 2 s."""
    parts = []
    for rate, source in ((25, "testsrc"), (50, "smptebars")):
        part = tmp_path / f"p{rate}.mp4"
        _ffmpeg("-f", "lavfi", "-i", f"{source}=size=320x240:rate={rate}:duration=2", *H264, str(part))
        parts.append(part)
    listing = tmp_path / "parts.txt"
    listing.write_text("".join(f"file '{p}'\n" for p in parts))
    joined = tmp_path / "vfr.mp4"
    _ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(joined))
    report = _report(joined, tmp_path)
    assert report["metadata"]["duration_s"] == pytest.approx(4.0, abs=0.1)
    assert len(report["shots"]) == 2 and report["shots"][1]["start_s"] == pytest.approx(2.0, abs=0.1)


def test_hd_keyframes_keep_their_colours(tmp_path):
    """HD video is coded with BT.709; converting it with SD's BT.601 made bars' green (0,186,0)
    come out (13,221,5), and dominant colours wrong. The picture now matches FFmpeg's own
    conversion of the same frame."""
    import av

    path = tmp_path / "hd709.mp4"
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "smptebars=size=1280x720:rate=25:duration=1",
        "-vf",
        "scale=out_color_matrix=bt709",
        *H264,
        "-colorspace",
        "bt709",
        str(path),
    )
    pictures: dict = {}
    run(path, stride=2, pictures=pictures)
    picture = pictures[0]
    with av.open(str(path)) as container:
        reference = next(container.decode(video=0)).to_ndarray(format="bgr24")
    reference = cv2_resize(reference, picture.shape[1], picture.shape[0])
    assert float(abs(picture.astype(int) - reference.astype(int)).mean()) < 3


def cv2_resize(image, width: int, height: int):
    import cv2

    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def test_keyframes_of_non_square_pixels_are_shown_as_displayed(tmp_path):
    """720x576 stored with 64:45 pixels shows as 16:9; the keyframe was 5:4, faces squashed."""
    path = tmp_path / "anamorphic.mp4"
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=1024x576:rate=25:duration=1",
        "-vf",
        "scale=720:576,setsar=64/45",
        *H264,
        str(path),
    )
    pictures: dict = {}
    run(path, stride=2, pictures=pictures)
    height, width = pictures[0].shape[:2]
    assert width / height == pytest.approx(16 / 9, rel=0.01)


def test_a_timelapse_at_one_frame_a_second_keeps_its_black_stretch_and_cuts(tmp_path):
    """At 1 fps a stride of 2 skipped whole seconds: the 2 s black stretch was one sample, a
    span of 0 s, so neither the warning nor its shot were found."""
    path = tmp_path / "timelapse.mp4"
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=1:duration=3",
        "-f",
        "lavfi",
        "-i",
        "color=c=black:size=320x240:rate=1:duration=2",
        "-f",
        "lavfi",
        "-i",
        "smptebars=size=320x240:rate=1:duration=3",
        "-filter_complex",
        "[0][1][2]concat=n=3:v=1[v]",
        "-map",
        "[v]",
        *H264,
        str(path),
    )
    result = run(path, stride=2)
    assert result.stride == 1
    assert result.black == [(3.0, 5.0)]
    assert result.cuts == [3, 5]


def test_cover_art_is_no_video_and_a_one_frame_track_before_the_video_is_passed_by(tmp_path):
    import cv2

    cover = tmp_path / "cover.png"
    cv2.imwrite(str(cover), scenes.textured(1, 0))
    song = tmp_path / "song.mp4"
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=duration=2",
        "-i",
        str(cover),
        "-map",
        "0",
        "-map",
        "1",
        "-c:a",
        "aac",
        "-c:v",
        "png",
        "-disposition:v",
        "attached_pic",
        str(song),
    )
    with pytest.raises(VisionError) as refused:
        vision.probe(str(song), LIMITS)
    assert refused.value.code == "NO_VIDEO_STREAM" and "cover art" in refused.value.message
    # Audio alone (a review uploaded one): said as such, not "not a video, or truncated".
    voice = tmp_path / "voice.mp4"
    _ffmpeg("-f", "lavfi", "-i", "sine=duration=2", "-c:a", "aac", str(voice))
    with pytest.raises(VisionError) as refused:
        vision.probe(str(voice), LIMITS)
    assert refused.value.code == "NO_VIDEO_STREAM" and refused.value.message.startswith(
        "The file has sound but no picture"
    )

    clip = media.make_clip(tmp_path / "clip.mp4", seconds=4, cuts=[2.0])
    still = tmp_path / "still.mp4"
    _ffmpeg("-loop", "1", "-i", str(cover), "-frames:v", "1", *H264, str(still))
    both = tmp_path / "both.mkv"  # a one-frame track first, the recording second
    _ffmpeg(
        "-i",
        str(still),
        "-i",
        str(clip),
        "-map",
        "0:v",
        "-map",
        "1:v",
        "-c",
        "copy",
        "-disposition:v:1",
        "default",
        "-disposition:v:0",
        "0",
        str(both),
    )
    result = run(both, stride=2)
    assert result.frames == 100 and matches(result.cuts, [50], tolerance=1) == (1.0, 1.0)


def test_a_shot_growing_out_of_a_plain_colour_is_one_shot(tmp_path):
    """Game of life from a plain blue: its first frames are plain colour whose mean moves fast.
    Taking a plain colour for a flat picture cut there (the bench's 720p clip found a cut at 152
    after the one at 150)."""
    path = tmp_path / "life.mp4"
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=1280x720:rate=30:duration=1",
        "-f",
        "lavfi",
        "-i",
        "life=size=1280x720:rate=30:mold=10:ratio=0.2:death_color=#1e3c78:life_color=#e6c83c",
        "-filter_complex",
        "[1]trim=duration=1[l];[0][l]concat=n=2:v=1,noise=alls=4:allf=t[v]",
        "-map",
        "[v]",
        *H264,
        str(path),
    )
    for stride in (1, 2):
        assert run(path, stride=stride).cuts == [30]


def test_the_contact_sheet_puts_each_keyframe_tile_in_its_place_with_its_caption():
    import cv2
    import numpy as np

    colours = [(40, 40, 200), (40, 200, 40), (200, 40, 40), (200, 200, 200), (0, 200, 240)]
    pictures = [np.full((360, 640, 3), c, np.uint8) for c in colours]
    pictures[4] = np.full((640, 360, 3), colours[4], np.uint8)  # portrait: letterboxed on black
    tiles = [keyframes.tile_jpeg(p) for p in pictures]
    sheet = cv2.imdecode(
        np.frombuffer(keyframes.contact_sheet([(t, f"#{n}") for n, t in enumerate(tiles)]), np.uint8), cv2.IMREAD_COLOR
    )
    width, height = keyframes.TILE
    assert sheet.shape[:2] == (2 * height + 3 * 4, 4 * width + 5 * 4)  # 4 columns, 2 rows, 4 px gaps
    for n, colour in enumerate(colours):
        row, column = divmod(n, 4)
        y, x = 4 + row * (height + 4), 4 + column * (width + 4)
        centre = sheet[y + height // 3, x + width // 2].astype(int)
        assert np.abs(centre - colour).max() < 12, (n, centre)
        bar = sheet[y + height - 16 : y + height, x : x + width]
        assert bar.min() < 20 and bar.max() > 200  # the caption: white text on a black bar
    portrait_edge = sheet[4 + height + 4 + height // 3, 4 + 2]
    assert portrait_edge.max() < 20
    with pytest.raises(ValueError):
        keyframes.contact_sheet([(keyframes.thumbnail_jpeg(pictures[0]), "#0")])  # not a tile
    assert keyframes.contact_sheet([]) is None
