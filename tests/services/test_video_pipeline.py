"""The in-process pipeline (probe → pass → keyframe inspection) on a real H.264 file."""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

from backend_app.adapters.vision import keyframes
from backend_app.services.video import pipeline as video_pipeline
from backend_app.settings import load_settings
from tests import media
from tests import video_scenes as scenes


def test_keyframe_pictures_wait_in_a_bounded_line_and_every_shot_is_inspected(tmp_path, monkeypatch):
    """A video of many short shots, inspected slower than the pass closes them: the pass waits
    for a place instead of piling pictures up, and no shot goes without its findings."""
    media.require_ffmpeg()
    cuts = list(range(10, 150, 10))
    path = scenes.cut_clip(tmp_path / "many.mp4", cuts, 150)
    lock, count = threading.Lock(), {"in_flight": 0, "most": 0, "inspected": 0}
    real_inspect, real_pass = keyframes.inspect, video_pipeline.vision.decode_pass

    def slow_inspect(picture, thumb_path):
        time.sleep(0.05)
        found = real_inspect(picture, thumb_path)
        with lock:
            count["in_flight"] -= 1
            count["inspected"] += 1
        return found

    def counting_pass(*args, on_shot, **kwargs):
        def handed(record, picture):
            with lock:  # counted before it asks for a place: at most one more than the places
                count["in_flight"] += picture is not None
                count["most"] = max(count["most"], count["in_flight"])
            on_shot(record, picture)

        return real_pass(*args, on_shot=handed, **kwargs)

    monkeypatch.setattr(keyframes, "inspect", slow_inspect)
    monkeypatch.setattr(video_pipeline.vision, "decode_pass", counting_pass)
    settings = load_settings({}, ai_provider="offline", data_dir=str(tmp_path / "data"), video_sample_stride=2)
    out = video_pipeline.analyse_file(str(path), str(tmp_path / "work"), settings)

    assert len(out.shots) == len(cuts) + 1
    assert count["inspected"] == len(out.shots) and sorted(out.thumbs) == [s["index"] for s in out.shots]
    assert all("faces" in shot and "colors" in shot for shot in out.shots)
    assert count["most"] <= video_pipeline.KEYFRAMES_IN_FLIGHT + 1, count
    assert out.contact_sheet is not None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")
def test_keyframes_are_inspected_on_a_thread_that_yields_the_core_to_decoding(tmp_path, monkeypatch):
    media.require_ffmpeg()
    path = scenes.cut_clip(tmp_path / "two.mp4", [20], 40)
    real_inspect = keyframes.inspect
    seen = []

    def recording_inspect(picture, thumb_path):
        seen.append((threading.get_ident(), os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
        return real_inspect(picture, thumb_path)

    monkeypatch.setattr(keyframes, "inspect", recording_inspect)
    settings = load_settings({}, ai_provider="offline", data_dir=str(tmp_path / "data"), video_sample_stride=2)
    job_nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    out = video_pipeline.analyse_file(str(path), str(tmp_path / "work"), settings)

    assert len(seen) == len(out.shots) == 2
    assert {ident for ident, _ in seen} != {threading.get_ident()}  # not the job's own thread
    assert {nice for _, nice in seen} == {min(19, job_nice + video_pipeline.INSPECT_NICENESS)}
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == job_nice  # the job's thread is as it was
