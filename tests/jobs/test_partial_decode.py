"""Honest partial decodes: a file that stops early or whose start cannot be decoded completes with
PARTIAL_DECODE naming the seconds analysed out of those declared; under half it is refused.

The files are made here with ffmpeg (H.264 + AAC in Matroska, 320x180, 25 fps, a keyframe every
second), then damaged the way real files are: cut short, or overwritten after the header.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from backend_app.extensions import db
from backend_app.jobs.runner import run_job
from backend_app.models import Analysis
from tests.factories import auth_headers, make_user
from tests.media import require_ffmpeg
from tests.uploading import make_session, upload_video
from tests.web.conftest import PageClient

CLUSTER = bytes.fromhex("1F43B675")  # a Matroska Cluster's element ID: the first one ends the header


@pytest.fixture(scope="module")
def ten_seconds(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("partial") / "ten.mkv"
    subprocess.run(
        [require_ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25"]
        + ["-f", "lavfi", "-i", "sine=duration=10", "-t", "10", "-c:v", "libx264", "-preset", "veryfast"]
        + ["-pix_fmt", "yuv420p", "-g", "25", "-c:a", "aac", "-shortest", str(path)],
        check=True,
        timeout=120,
    )
    return path.read_bytes()


def analysed(client, data: bytes, filename: str, user=None) -> Analysis:
    """Upload ``data`` (as ``user``), run its job in this process; the analysis afterwards."""
    headers = auth_headers(client, user or make_user())
    session_id = make_session(client, headers)
    body = upload_video(client, headers, session_id, data, filename=filename, content_type="video/x-matroska")
    run_job(db.session.get(Analysis, body["analysis_id"]).job_id)
    db.session.expire_all()
    return db.session.get(Analysis, body["analysis_id"])


def partial(analysis: Analysis) -> dict:
    found = [w for w in analysis.report["warnings"] if w["code"] == "PARTIAL_DECODE"]
    assert len(found) == 1, analysis.report["warnings"]
    return found[0]


def test_the_whole_file_has_no_partial_decode(app, client, ten_seconds):
    analysis = analysed(client, ten_seconds, "whole.mkv")
    assert analysis.job.status == "completed"
    assert "PARTIAL_DECODE" not in [w["code"] for w in analysis.report["warnings"]]
    assert analysis.report["metadata"]["partial_decode"] is None
    assert analysis.report["metadata"]["duration_s"] == pytest.approx(10.0)


def test_an_mkv_cut_at_60_percent_completes_saying_which_seconds_were_analysed(app, client, ten_seconds):
    """Was "complete, 0 warnings" with the duration of what was decoded, while the file says 10 s."""
    analysis = analysed(client, ten_seconds[: len(ten_seconds) * 6 // 10], "cut.mkv")
    assert analysis.job.status == "completed", analysis.job.error_message
    warning = partial(analysis)
    assert (
        warning["start_s"] == 0.0
        and 5.0 <= warning["end_s"] <= 7.0
        and warning["declared_s"] == pytest.approx(10.0, abs=0.05)
    )
    assert warning["analysed_s"] == warning["end_s"] and warning["spans"] == [[warning["end_s"], warning["declared_s"]]]
    assert f"Only 0.0-{warning['end_s']:.1f} s of the 10.0 s" in warning["message"]
    assert analysis.report["metadata"]["partial_decode"]["end_s"] == warning["end_s"]
    assert analysis.report["summary"]["warnings"] >= 1


def test_a_file_whose_start_is_overwritten_completes_from_its_first_decodable_second(app, client, ten_seconds):
    data = bytearray(ten_seconds)
    header_end = data.find(CLUSTER)
    size = len(data) // 5  # about the first two seconds' worth, right after the header
    data[header_end + 64 : header_end + 64 + size] = os.urandom(size)
    analysis = analysed(client, bytes(data), "damaged_start.mkv")
    assert analysis.job.status == "completed", analysis.job.error_message
    warning = partial(analysis)
    start = warning["start_s"]
    assert 1.0 <= start <= 4.0 and start == pytest.approx(round(start))  # the next keyframe (one a second)
    assert warning["end_s"] == pytest.approx(10.0, abs=0.1) and warning["spans"] == [[0.0, start]]
    assert warning["analysed_s"] == pytest.approx(warning["end_s"] - start)
    assert f"the first {start:.1f} s could not be" in warning["message"]
    shots = analysis.report["shots"]
    assert shots[0]["start_s"] == start  # times stay the video's own: the first shot starts where decoding did
    assert shots[-1]["end_s"] == pytest.approx(10.0, abs=0.1)


def test_a_file_cut_before_half_is_refused_with_its_code(app, client, ten_seconds):
    analysis = analysed(client, ten_seconds[: len(ten_seconds) * 3 // 10], "short.mkv")
    job = analysis.job
    assert (job.status, job.error_code) == ("failed", "VIDEO_UNREADABLE")
    assert job.error_message.startswith("The video ends after") and "under half" in job.error_message
    assert analysis.report is None


@pytest.mark.sqlite_only
def test_the_session_list_and_the_report_header_show_the_partial_decode(app, client, ten_seconds):
    user = make_user()
    analysis = analysed(client, ten_seconds[: len(ten_seconds) * 6 // 10], "cut.mkv", user)
    warning = partial(analysis)
    page = PageClient(app.test_client(), user)
    said = f"{warning['start_s']:.1f}–{warning['end_s']:.1f} s"
    report = page.get(f"/analyses/{analysis.id}").get_data(as_text=True)
    assert 'data-testid="partial-decode"' in report and f"Only {said} of the 10.0 s" in report
    listing = page.get(f"/sessions/{analysis.session_id}").get_data(as_text=True)
    assert 'data-testid="partial-decode"' in listing and f"analysed {said} of 10.0 s" in listing
