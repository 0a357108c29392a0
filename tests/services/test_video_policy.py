"""Magic bytes of real containers made by ffmpeg, and the refusals of the upload policy."""

from __future__ import annotations

import subprocess

import cv2
import numpy as np
import pytest

from backend_app.errors import AppError
from backend_app.services.video.policy import (
    HEAD_BYTES,
    accepted,
    check_stored,
    clean_filename,
    normalize_content_type,
    sniff,
)
from tests.media import make_clip, require_ffmpeg


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("containers")
    source = make_clip(folder / "source.mp4", seconds=1, cuts=(0.5,))
    made = {"mp4": source}
    for suffix in ("mov", "mkv", "ts", "flv"):
        target = folder / f"clip.{suffix}"
        subprocess.run(
            [require_ffmpeg(), "-v", "error", "-y", "-i", str(source), "-c", "copy", str(target)],
            check=True,
            timeout=60,
        )
        made[suffix] = target
    made["webm"] = make_clip(folder / "clip.webm", seconds=1, codec="vp8")
    made["avi"] = make_clip(folder / "clip.avi", seconds=1, codec="mjpeg")
    return made


@pytest.mark.parametrize(
    "suffix, container",
    [
        ("mp4", "mp4"),
        ("mov", "quicktime"),
        ("mkv", "matroska"),
        ("webm", "webm"),
        ("avi", "avi"),
        ("ts", "mpegts"),
        ("flv", "flv"),  # H.264 in FLV, copied from the MP4
    ],
)
def test_real_containers_are_recognised(clips, suffix, container):
    assert sniff(clips[suffix].read_bytes()[:HEAD_BYTES]) == container


def test_the_file_chooser_is_offered_the_extensions_of_every_accepted_type():
    offered = accepted(["video/x-flv", "video/x-ms-asf", "video/mpeg", "video/x-matroska"])
    assert offered[:4] == ["video/x-flv", "video/x-ms-asf", "video/mpeg", "video/x-matroska"]
    assert {".flv", ".wmv", ".asf", ".vob", ".mpg", ".mkv"} <= set(offered)
    assert ".mp4" not in offered and ".avi" not in offered  # their types were not given


def test_non_videos_are_not(tmp_path):
    ok, png = cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))
    assert ok
    for data in (
        b"",
        b"hello world\n" * 100,
        png.tobytes(),
        b"%PDF-1.7\n" + b"x" * 500,
        b"RIFF\x00\x00\x00\x00WAVEfmt ",
        b"G" + b"\x00" * 100,
    ):
        assert sniff(data[:HEAD_BYTES]) is None


@pytest.mark.parametrize(
    "size, head, code",
    [
        (None, b"", "UPLOAD_INCOMPLETE"),
        (0, b"", "EMPTY_FILE"),
        (50, b"\x00\x00\x00\x18ftypisom", "UPLOAD_INCOMPLETE"),
        (150, b"\x00\x00\x00\x18ftypisom", "UPLOAD_SIZE_MISMATCH"),
        (100, b"just text", "UNSUPPORTED_FORMAT"),
    ],
)
def test_stored_file_refusals(size, head, code):
    with pytest.raises(AppError) as caught:
        check_stored(100, size, head)
    assert caught.value.code == code


def test_names_and_types():
    assert clean_filename("C:\\Users\\me\\Desktop\\trip.MOV") == "trip.MOV"
    assert clean_filename("a\x00b\nc.mp4") == "abc.mp4"
    assert clean_filename("../") == "video"
    assert normalize_content_type("Video/MP4; codecs=avc1", "x") == "video/mp4"
    assert normalize_content_type("application/octet-stream", "x.webm") == "video/webm"
    assert normalize_content_type("", "x.ts") == "video/mp2t"
    # Other names of the same formats: Windows browsers, the registered Matroska type, camcorder files.
    assert normalize_content_type("video/vnd.dlna.mpeg-tts", "clip.mts") == "video/mp2t"
    assert normalize_content_type("application/octet-stream", "00001.MTS") == "video/mp2t"
    assert normalize_content_type("video/matroska", "x.mkv") == "video/x-matroska"
    assert normalize_content_type("", "phone.3gp") == "video/3gpp"
    assert normalize_content_type("audio/3gpp", "phone.3gp") == "video/3gpp"
