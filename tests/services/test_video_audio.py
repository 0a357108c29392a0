"""The report's audio section and facts, from real files through the whole in-process pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend_app.services.video.pipeline import analyse_file, describe_and_report
from backend_app.settings import load_settings
from tests import audio_clips as clips


def report_of(path: Path, tmp_path: Path) -> dict:
    settings = load_settings({}, ai_provider="offline", mock_mode=True, data_dir=str(tmp_path / "data"))
    work = tmp_path / f"work-{path.stem}"
    return describe_and_report(analyse_file(str(path), str(work), settings), settings, user_id=None)


def codes(report: dict) -> set[str]:
    return {w["code"] for w in report["warnings"]}


def test_a_tone_gives_an_audio_section_with_its_curve_and_no_fact(tmp_path):
    report = report_of(clips.av_clip(tmp_path / "tone.mp4", 3, clips.tone(3)), tmp_path)
    audio = report["audio"]
    assert {"codec", "channels", "loudness", "silent"} <= set(audio)  # DESIGN.md "Reports gain …"
    assert (audio["codec"], audio["channels"], audio["sample_rate"], audio["silent"]) == ("aac", 2, 48000, False)
    assert audio["peak_dbfs"] == pytest.approx(clips.TONE_DBFS, abs=0.5)
    assert [p["t"] for p in audio["loudness"]][:3] == [0.0, 0.5, 1.0]
    assert not codes(report) & {"SILENT", "NO_AUDIO", "AUDIO_UNREADABLE"}
    assert "audio" in report["timings"]


def test_a_silent_track_is_a_silent_fact_that_says_what_was_measured(tmp_path):
    report = report_of(clips.av_clip(tmp_path / "quiet.mp4", 3, clips.silence(3)), tmp_path)
    assert report["audio"]["silent"] is True
    (fact,) = [w for w in report["warnings"] if w["code"] == "SILENT"]
    assert fact["message"] == (
        "The audio track (aac, 2 channels) is silent: its loudest half second was -100.0 dBFS, "
        "under the -50 dBFS threshold."
    )
    assert fact["measured"] == {"metric": "peak_dbfs", "value": -100.0, "threshold": -50.0, "unit": "dBFS"}
    assert "NO_AUDIO" not in codes(report)


def test_no_audio_stream_is_a_fact_and_a_null_section(tmp_path):
    report = report_of(clips.av_clip(tmp_path / "mute.mp4", 2, None), tmp_path)
    assert report["audio"] is None
    assert "NO_AUDIO" in codes(report) and "SILENT" not in codes(report)
