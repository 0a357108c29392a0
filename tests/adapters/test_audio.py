"""The audio track of real files made by ffmpeg: probed, decoded by PyAV, measured over time."""

from __future__ import annotations

import pytest

from backend_app.adapters.vision import audio
from tests import audio_clips as clips


def levels(track) -> dict[float, float]:
    return {p["t"]: p["dbfs"] for p in track.loudness}


def test_a_sine_tone_is_described_and_measured_at_its_level_all_along(tmp_path):
    track = audio.audio_track(str(clips.av_clip(tmp_path / "tone.mp4", 4, clips.tone(4))))
    assert (track.codec, track.channels, track.sample_rate) == ("aac", 2, 48000)
    assert track.duration_s == pytest.approx(4.0, abs=0.1) and track.decoded
    assert track.window_s == audio.WINDOW_S and len(track.loudness) in (8, 9)
    inner = [db for t, db in levels(track).items() if 0.5 <= t < 3.5]  # the encoder's first and last frames ramp
    assert all(db == pytest.approx(clips.TONE_DBFS, abs=0.5) for db in inner), inner
    assert track.peak_dbfs == pytest.approx(clips.TONE_DBFS, abs=0.5)
    assert not track.silent and track.silences == []


def test_silence_is_silent_from_start_to_end(tmp_path):
    track = audio.audio_track(str(clips.av_clip(tmp_path / "quiet.mp4", 3, clips.silence(3))))
    assert track.channels == 2 and track.silent
    assert track.peak_dbfs == audio.FLOOR_DBFS and {p["dbfs"] for p in track.loudness} == {audio.FLOOR_DBFS}
    assert track.silences == [(0.0, pytest.approx(3.0, abs=0.1))]


def test_a_file_without_an_audio_stream_has_no_track(tmp_path):
    assert audio.audio_track(str(clips.av_clip(tmp_path / "mute.mp4", 2, None))) is None


@pytest.mark.parametrize(
    "suffix, codec, rate",
    [
        (".mp4", ("-c:a", "aac", "-b:a", "96k"), 48000),
        (".mkv", ("-c:a", "libopus", "-b:a", "64k"), 48000),
        (".avi", ("-c:a", "pcm_s16le"), 48000),
        (".mkv", ("-c:a", "pcm_u8"), 48000),  # 8-bit PCM is offset around 128
        (".avi", ("-c:a", "pcm_s16le"), 8000),  # 1024-sample frames of 128 ms: spread over windows sample by sample
    ],
    ids=["aac", "opus", "pcm16-avi", "pcm8-mkv", "pcm16-8khz"],
)
def test_a_tone_in_the_second_half_shows_at_the_right_seconds(tmp_path, suffix, codec, rate):
    path = clips.av_clip(tmp_path / f"late{suffix}", 8, clips.late_tone(8, 4.0, rate=rate), audio_codec=codec)
    track = audio.audio_track(str(path))
    assert track.sample_rate == rate
    curve = levels(track)
    quiet = [db for t, db in curve.items() if t < 3.5]
    loud = [db for t, db in curve.items() if 4.5 <= t < 7.5]
    assert quiet and max(quiet) < audio.SILENCE_DBFS, curve
    assert loud and all(db == pytest.approx(clips.TONE_DBFS, abs=1.0) for db in loud), curve
    assert not track.silent
    ((start, end),) = track.silences
    assert start == 0.0 and end == pytest.approx(4.0, abs=0.5)
    first_loud = min(t for t, db in curve.items() if db > audio.SILENCE_DBFS)
    assert first_loud == pytest.approx(4.0, abs=0.5)


def test_a_long_track_is_joined_into_a_bounded_curve(tmp_path):
    """Ten minutes of PCM (cheap to make) give MAX_POINTS or fewer points, each window_s wide."""
    path = tmp_path / "long.mkv"
    clips.av_clip(path, 600, clips.late_tone(600, 300.0, rate=8000), audio_codec=("-c:a", "pcm_s16le"), size="64x36")
    track = audio.audio_track(str(path))
    assert len(track.loudness) <= audio.MAX_POINTS and track.window_s == 2.5
    assert [p["t"] for p in track.loudness[:3]] == [0.0, 2.5, 5.0]
    assert track.silences == [(0.0, pytest.approx(300.0, abs=1.0))]
    switch = min(p["t"] for p in track.loudness if p["dbfs"] > audio.SILENCE_DBFS)
    assert switch == pytest.approx(300.0, abs=track.window_s)
