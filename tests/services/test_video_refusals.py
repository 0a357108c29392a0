"""The vision adapter's refusals reach the job as its coded failures, code and message unchanged."""

from __future__ import annotations

import subprocess

import pytest

from backend_app.queue.errors import JobFailure
from backend_app.services.video import pipeline
from backend_app.settings import load_settings
from tests import media


def refusal(path, tmp_path) -> JobFailure:
    settings = load_settings({}, ai_provider="offline", data_dir=str(tmp_path / "data"))
    with pytest.raises(JobFailure) as caught:
        pipeline.analyse_file(str(path), str(tmp_path / "work"), settings)
    return caught.value


def test_a_file_refused_by_the_probe_fails_the_job_with_its_code(tmp_path):
    text = tmp_path / "text.mp4"
    text.write_text("this is not a video\n" * 50)
    failure = refusal(text, tmp_path)
    assert failure.code == "VIDEO_UNREADABLE" and not failure.retryable
    assert str(failure) == failure.message and failure.message


def test_a_file_refused_by_the_decode_pass_fails_the_job_with_its_code(tmp_path):
    """Opens (its index is at the front), then ends after a third: the pass says so."""
    whole = tmp_path / "front.mp4"
    subprocess.run(
        [media.require_ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25"]
        + ["-t", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(whole)],
        check=True,
        timeout=120,
    )
    cut = tmp_path / "cut_short.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    failure = refusal(cut, tmp_path)
    assert failure.code == "VIDEO_UNREADABLE" and failure.message.startswith("The video ends after")
