"""Shots people can count: no zero-length or one-frame "shot" at the start or the end of a video,
and the first shot is "Shot 1" on every page and in chat, while the API's ``index`` stays 0-based."""

from __future__ import annotations

import re

import numpy as np
import pytest

from backend_app.extensions import db
from backend_app.jobs.runner import run_job
from backend_app.models import Analysis
from tests import media
from tests.factories import auth_headers, make_user
from tests.uploading import make_session, upload_video
from tests.web.conftest import PageClient

FPS = 24


@pytest.fixture(scope="module")
def black_first_frame_avi(tmp_path_factory):
    """An MPEG-4 AVI at 24 fps: one black frame, a 2 s shot, a cut, a 2 s shot, one white frame."""
    path = tmp_path_factory.mktemp("shots") / "megamind.avi"
    width, height = 320, 180
    black = np.zeros((height, width, 3), np.uint8)
    white = np.full((height, width, 3), 255, np.uint8)
    frames = [black]
    frames += [media.shot_frame(i, 0, width, height, FPS) for i in range(2 * FPS)]
    frames += [media.shot_frame(i, 1, width, height, FPS) for i in range(2 * FPS)]
    frames += [white]
    cmd = [media.require_ffmpeg(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24"]
    cmd += ["-s", f"{width}x{height}", "-r", str(FPS), "-i", "-", "-c:v", "mpeg4", "-q:v", "3", str(path)]
    media.pipe_frames(cmd, frames)
    return path


def test_no_shot_is_shorter_than_two_frames_and_the_first_is_shot_1(app, client, black_first_frame_avi):
    user = make_user()
    headers = auth_headers(client, user)
    session_id = make_session(client, headers)
    body = upload_video(
        client, headers, session_id, black_first_frame_avi, filename="megamind.avi", content_type="video/x-msvideo"
    )
    analysis = db.session.get(Analysis, body["analysis_id"])
    run_job(analysis.job_id)
    db.session.expire_all()
    analysis = db.session.get(Analysis, analysis.id)
    assert analysis.job.status == "completed", analysis.job.error_message
    shots = analysis.report["shots"]
    # Was: "Shot 0, 0.0-0.0 s" (the black frame) before the two real shots, and a last one-frame shot.
    assert [s["index"] for s in shots] == [0, 1]
    assert shots[0]["start_s"] == 0.0 and shots[1]["start_s"] == pytest.approx(49 / FPS, abs=2.5 / FPS)
    assert shots[-1]["end_s"] == pytest.approx(98 / FPS, abs=0.01)  # the last frame is in the last shot
    assert all(s["end_s"] - s["start_s"] >= 2 / FPS for s in shots)
    assert analysis.report["analysis"]["cut_frames"] == [shots[1]["start_frame"]]

    page = PageClient(app.test_client(), user)
    html = page.get(f"/analyses/{analysis.id}").get_data(as_text=True)
    assert re.search(r"<strong>Shot 1</strong>", html) and re.search(r"<strong>Shot 2</strong>", html)
    assert "Shot 0" not in html and "shot 0" not in html and 'title="Shot 1 ·' in html
    assert 'id="shot-0"' in html  # anchors and the API keep the 0-based index
    api = client.get(f"/api/v1/analyses/{analysis.id}/report", headers=headers).get_json()
    assert [s["index"] for s in api["shots"]] == [0, 1]

    answer = client.post("/api/v1/chat", json={"message": "What is in shot 1?"}, headers=headers).get_json()
    assert [c["shot"] for c in answer["citations"]] == [0]
    assert "Shot 1 of megamind.avi (0:00" in answer["answer"] and "shot 0" not in answer["answer"].lower()
    chat_page = page.post("/chat", data={"message": "What is in shot 2?"}, follow_redirects=True).get_data(as_text=True)
    assert "· Shot 2 ·" in chat_page and "shot 0" not in chat_page.lower()
