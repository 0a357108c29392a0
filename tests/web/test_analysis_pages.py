"""Session page uploads, the self-polling analysis item, and the report page."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from backend_app.adapters.storage import get_storage
from backend_app.extensions import db
from backend_app.models import Analysis, Job
from backend_app.models.base import utcnow
from backend_app.models.job import COMPLETED, FAILED, QUEUED
from backend_app.services import sessions
from backend_app.tenancy import Tenant
from tests.media import make_clip
from tests.web.conftest import text

pytestmark = pytest.mark.sqlite_only


def _session(page, name="Shoot"):
    return sessions.create(Tenant(page.user.id), name)


def _upload(page, session, path) -> str:
    """Drive the page's upload routes the way app.js does: init, PUT to the signed URL, complete."""
    data = path.read_bytes()
    ticket = page.client.post(
        f"/sessions/{session.id}/uploads",
        json={"filename": path.name, "content_type": "video/mp4", "file_size": len(data)},
        headers={"X-CSRF-TOKEN": page.csrf, "HX-Request": "true"},
    )
    assert ticket.status_code == 201, text(ticket)
    ticket = ticket.get_json()
    put = page.client.put(ticket["upload_url"].replace("http://localhost", ""), data=data, headers=ticket["headers"])
    assert put.status_code == 201, text(put)
    done = page.post(ticket["complete_url"], htmx=True)
    assert done.status_code == 200, text(done)
    return ticket["analysis_id"], text(done)


def test_session_page_empty_state(page):
    session = _session(page)
    body = text(page.get(f"/sessions/{session.id}"))
    assert "No videos in this session yet" in body and 'data-testid="dropzone"' in body


def test_upload_through_page_routes_queues_a_polling_item(page, tmp_path):
    session = _session(page)
    clip = make_clip(tmp_path / "clip.mp4", seconds=1, fps=10, size=(64, 48))
    analysis_id, item = _upload(page, session, clip)
    assert 'hx-trigger="every 1s"' in item and 'data-status="queued"' in item
    assert "Waiting for a worker" in item
    body = text(page.get(f"/sessions/{session.id}"))
    assert "clip.mp4" in body and f'id="analysis-{analysis_id}"' in body


def test_a_file_refused_at_complete_comes_back_as_its_failed_item(page, tmp_path):
    session = _session(page)
    data = b"this is not a video at all " * 100
    ticket = page.client.post(
        f"/sessions/{session.id}/uploads",
        json={"filename": "notes.mp4", "content_type": "video/mp4", "file_size": len(data)},
        headers={"X-CSRF-TOKEN": page.csrf, "HX-Request": "true"},
    ).get_json()
    page.client.put(ticket["upload_url"].replace("http://localhost", ""), data=data, headers=ticket["headers"])
    done = page.post(ticket["complete_url"], htmx=True)
    assert done.status_code == 415 and done.headers["X-Analysis-Item"] == "failed"
    body = text(done)
    assert f'id="analysis-{ticket["analysis_id"]}"' in body and 'data-status="failed"' in body
    assert "UNSUPPORTED_FORMAT" in body and "nothing to retry" in body


def test_upload_init_refusal_says_why(page):
    session = _session(page)
    response = page.client.post(
        f"/sessions/{session.id}/uploads",
        json={"filename": "notes.zip", "content_type": "application/zip", "file_size": 10},
        headers={"X-CSRF-TOKEN": page.csrf, "HX-Request": "true"},
    )
    assert response.status_code == 415 and "not a supported video or document type" in text(response)
    for body in (
        "[1]",
        '"x"',
        '{"filename": "a.mp4", "content_type": "video/mp4", "file_size": 1e400}',
        '{"filename": "a\\u0000.mp4", "content_type": "video/mp4", "file_size": 10}',
    ):
        odd = page.client.post(
            f"/sessions/{session.id}/uploads",
            data=body,
            content_type="application/json",
            headers={"X-CSRF-TOKEN": page.csrf, "HX-Request": "true"},
        )
        assert odd.status_code in (400, 422), (body, odd.status_code)
    no_csrf = page.client.post(
        f"/sessions/{session.id}/uploads", json={"filename": "a.mp4", "content_type": "video/mp4", "file_size": 10}
    )
    assert no_csrf.status_code == 403


def _analysis(user_id, session_id, status, **job_fields) -> Analysis:
    job = Job(
        kind="video_analysis",
        queue="video",
        status=status,
        user_id=user_id,
        session_id=session_id,
        payload={},
        timings={},
        **job_fields,
    )
    db.session.add(job)
    db.session.flush()
    analysis = Analysis(
        user_id=user_id,
        session_id=session_id,
        job_id=job.id,
        filename="beach.mp4",
        content_type="video/mp4",
        declared_size=1000,
        storage_key="x",
    )
    db.session.add(analysis)
    db.session.flush()
    analysis.storage_key = f"{analysis.prefix}source"
    db.session.commit()
    return analysis


def test_item_stops_polling_when_done_and_failed_shows_reason_and_retry(page, redis_server):
    session = _session(page)
    running = _analysis(page.user.id, session.id, "running", stage="decode", progress=40)
    item = text(page.get(f"/analyses/{running.id}/status", htmx=True))
    assert 'hx-trigger="every 1s"' in item and "decode" in item and "40 %" in item and "<html" not in item
    running.job.status = COMPLETED
    running.video_metadata = {"duration_s": 605.2, "width": 1920, "height": 1080, "codec": "h264"}
    db.session.commit()
    done = page.get(f"/analyses/{running.id}/status", htmx=True)
    assert "hx-trigger" not in text(done) and "Open report" in text(done)
    assert "10:05 · 1920×1080 · h264" in text(done)  # a ten-minute video's length as a clock shows it
    assert done.headers["Vary"] == "HX-Request"
    assert "<html" in text(page.get(f"/analyses/{running.id}/status"))

    hopeless = _analysis(
        page.user.id, session.id, FAILED, error_code="VIDEO_UNREADABLE", error_message="FFmpeg cannot read this file."
    )
    item = text(page.get(f"/analyses/{hopeless.id}/status", htmx=True))
    assert "VIDEO_UNREADABLE" in item and "FFmpeg cannot read" in item and 'data-testid="retry"' not in item
    assert "No retry: the same file would fail the same way." in item  # the button is gone, the reason said
    failed = _analysis(
        page.user.id, session.id, FAILED, error_code="WORKER_LOST", error_message="The worker running this job stopped."
    )
    get_storage().put_bytes(failed.storage_key, b"video bytes")
    item = text(page.get(f"/analyses/{failed.id}/status", htmx=True))
    assert "WORKER_LOST" in item and "worker running" in item and 'data-testid="retry"' in item
    retried = page.post(f"/analyses/{failed.id}/retry", htmx=True)
    assert 'data-status="queued"' in text(retried) and 'hx-trigger="every 1s"' in text(retried)
    db.session.expire_all()
    assert db.session.get(Job, failed.job_id).status == QUEUED


def _jpeg(colour) -> bytes:
    ok, encoded = cv2.imencode(".jpg", np.full((18, 32, 3), colour, dtype=np.uint8))
    assert ok
    return encoded.tobytes()


def completed_analysis(user_id, session_id) -> Analysis:
    """A completed analysis with a report of the documented shape and its images in storage."""
    analysis = _analysis(user_id, session_id, COMPLETED)
    storage = get_storage()
    shots = []
    for index, (start, end) in enumerate([(0.0, 2.0), (2.0, 4.0)]):
        key = f"{analysis.prefix}keyframes/{index}.jpg"
        storage.put_bytes(key, _jpeg((200, 40 * index, 40)), "image/jpeg")
        shots.append(
            {
                "index": index,
                "start_s": start,
                "end_s": end,
                "keyframe_key": key,
                "faces": [{"x": 0.4, "y": 0.2, "w": 0.2, "h": 0.3}] if index else [],
                "colors": [{"name": "red", "hex": "#c83228", "share": 0.6}, "legacy text"] if index else [],
                "qr_texts": ["https://example.test"] if index else [],
                "brightness": 100.0 + index,
                "motion": 3.5 * (index + 1),
                "sharpness": 80.0,
                "labels": ["outdoor"],
                "description": f"A red scene number {index}.",
            }
        )
    storage.put_bytes(f"{analysis.prefix}contact_sheet.jpg", _jpeg((10, 10, 10)), "image/jpeg")
    storage.put_bytes(f"{analysis.prefix}people/p1.jpg", _jpeg((180, 150, 120)), "image/jpeg")
    storage.put_bytes(analysis.storage_key, b"not really a video", "video/mp4")
    analysis.contact_sheet_key = f"{analysis.prefix}contact_sheet.jpg"
    analysis.report = {
        "metadata": {
            "duration_s": 4.0,
            "fps": 25.0,
            "frame_count": 100,
            "width": 320,
            "height": 180,
            "codec": "h264",
            "file_size": 1000,
            "sha256": "ab" * 32,
        },
        "shots": shots,
        "warnings": ["Audio track ignored"],
        "timings": {"decode": 0.5},
        "summary": "Two red scenes.",
        "people": [{"id": "p1", "label": "Person A", "shots": [1], "face_key": f"{analysis.prefix}people/p1.jpg"}],
        "timeline": [{"t": t / 2, "motion": t % 3, "brightness": 100 + t} for t in range(9)],
    }
    analysis.completed_at = utcnow()
    db.session.commit()
    return analysis


def test_a_strip_of_many_short_shots_shows_colours_not_hundreds_of_pictures(page):
    """A 600-shot video's strip asked for 600 keyframes (14 s to load) and showed only white borders."""
    import re

    session = _session(page)
    analysis = completed_analysis(page.user.id, session.id)
    long_shot = {**analysis.report["shots"][0], "start_s": 0.0, "end_s": 10.0}
    slivers = [
        {
            **analysis.report["shots"][1],
            "index": n,
            "start_s": 10 + (n - 1) * 0.1,
            "end_s": 10 + n * 0.1,
            "colors": [{"name": "red", "hex": f"#{n:02x}0000", "share": 1.0}],
        }
        for n in range(1, 101)
    ]
    analysis.report = {
        **analysis.report,
        "metadata": {**analysis.report["metadata"], "duration_s": 20.0},
        "shots": [long_shot, *slivers],
    }
    db.session.commit()
    body = text(page.get(f"/analyses/{analysis.id}"))
    strip = body[body.index('data-testid="shot-strip"') : body.index("</div>", body.index('data-testid="shot-strip"'))]
    assert re.findall(r"background-image: url\('([^']+)'\)", strip) == [f"/analyses/{analysis.id}/keyframes/0.jpg"]
    assert strip.count("background-color: #") == 100 and "background-color: #640000" in strip
    assert strip.count('class="wide"') == 1 and strip.count("<span>") == 1
    assert strip.count('role="listitem"') == 101  # every shot is still there to click


def test_report_page_shows_everything(page):
    session = _session(page)
    analysis = completed_analysis(page.user.id, session.id)
    response = page.get(f"/analyses/{analysis.id}")
    body = text(response)
    assert response.status_code == 200
    for expected in (
        "320×180",
        "h264",
        "2 shots in 4.0 s",
        "Two red scenes.",
        "Audio track ignored",
        'id="shot-1"',
        "QR: https://example.test",
        "A red scene number 0.",
        "<polyline",
        'data-seek="2.0"',
        f"/analyses/{analysis.id}/keyframes/1.jpg",
        "contact-sheet.jpg",
        "/api/v1/storage/",
        'data-testid="shot-strip"',
        'href="#shot-1" data-seek="2.0"',
        "flex-basis: 50.0%",
        f"background-image: url('/analyses/{analysis.id}/keyframes/1.jpg')",
        "1 face<",
        'style="background: #c83228" title="red 60 %"',
    ):
        assert expected in body, expected
    assert body.count('class="swatch"') == 1 and "legacy text" not in body  # what is no colour is left out
    image = page.get(f"/analyses/{analysis.id}/keyframes/1.jpg")
    assert image.status_code == 200 and image.mimetype == "image/jpeg" and image.get_data()[:2] == b"\xff\xd8"
    assert page.get(f"/analyses/{analysis.id}/contact-sheet.jpg").status_code == 200
    download = page.get(f"/analyses/{analysis.id}/report.json")
    assert download.get_json()["shots"][1]["keyframe_url"].endswith("/keyframes/1")
    assert "attachment" in download.headers["Content-Disposition"]


def test_unfinished_report_shows_the_live_item(page):
    session = _session(page)
    analysis = _analysis(page.user.id, session.id, "running", stage="decode", progress=10)
    body = text(page.get(f"/analyses/{analysis.id}"))
    assert 'hx-trigger="every 1s"' in body and "<html" in body


def test_other_users_analysis_is_404_everywhere(page, other_page):
    session = _session(page)
    analysis = completed_analysis(page.user.id, session.id)
    for url in (
        f"/analyses/{analysis.id}",
        f"/analyses/{analysis.id}/status",
        f"/analyses/{analysis.id}/report.json",
        f"/analyses/{analysis.id}/keyframes/0.jpg",
        f"/analyses/{analysis.id}/contact-sheet.jpg",
    ):
        response = other_page.get(url)
        assert response.status_code == 404, url
        assert "beach.mp4" not in text(response)
    assert other_page.post(f"/analyses/{analysis.id}/retry").status_code == 404
    assert other_page.post(f"/analyses/{analysis.id}/delete").status_code == 404
    assert (
        other_page.client.post(
            f"/sessions/{session.id}/uploads",
            json={"filename": "a.mp4", "content_type": "video/mp4", "file_size": 10},
            headers={"X-CSRF-TOKEN": other_page.csrf},
        ).status_code
        == 404
    )


def test_delete_analysis(page):
    session = _session(page)
    analysis = completed_analysis(page.user.id, session.id)
    assert page.post(f"/analyses/{analysis.id}/delete", htmx=True).status_code == 200
    assert page.get(f"/analyses/{analysis.id}").status_code == 404


def test_chart_downsamples_long_timelines_and_keeps_peaks():
    from backend_app.web.charts import MAX_POINTS, line_chart

    samples = [{"t": i / 10, "motion": 5.0 if i == 1234 else 0.1, "brightness": 0.5} for i in range(5000)]
    chart = line_chart(samples)
    motion = next(line for line in chart.lines if line.name == "motion")
    assert len(motion.points.split()) == MAX_POINTS and motion.peak == 5.0
    assert chart.duration_s == 499.9
    assert line_chart([]) is None and line_chart([{"t": 0, "motion": 1}]) is None


def test_running_item_shows_an_eta_from_past_runs(page):
    from datetime import timedelta

    session = _session(page)
    done = _analysis(page.user.id, session.id, COMPLETED)
    done.job.started_at = utcnow() - timedelta(seconds=40)
    done.job.finished_at = done.job.started_at + timedelta(seconds=20)
    running = _analysis(page.user.id, session.id, "running", stage="keyframes", progress=50)
    running.job.started_at = utcnow() - timedelta(seconds=5)
    db.session.commit()
    item = text(page.get(f"/analyses/{running.id}/status", htmx=True))
    assert "keyframes · 50 %" in " ".join(item.split()) and "s left" in item


def test_poll_of_a_deleted_item_stops_polling(page):
    session = _session(page)
    analysis = _analysis(page.user.id, session.id, "running", stage="decode", progress=10)
    page.post(f"/analyses/{analysis.id}/delete", htmx=True)
    response = page.get(f"/analyses/{analysis.id}/status", htmx=True)
    assert response.status_code == 286 and text(response) == ""  # htmx's "stop polling" status
    assert page.get(f"/analyses/{analysis.id}/status").status_code == 404


def test_report_page_charts_loudness_beside_motion_and_brightness_and_says_what_warnings_measured(page):
    session = _session(page)
    analysis = completed_analysis(page.user.id, session.id)
    loudness = [{"t": t / 2, "dbfs": -100.0 if t < 4 else -21.1} for t in range(8)]
    message = "Shot 0 is too dark: in 92 % of its analysed frames even the brightest 5 % of the picture was under 0.35"
    analysis.report = {
        **analysis.report,
        "audio": {
            "codec": "aac",
            "channels": 2,
            "sample_rate": 48000,
            "loudness": loudness,
            "silent": False,
            "decoded": True,
            "peak_dbfs": -21.1,
        },
        "warnings": [
            {
                "code": "TOO_DARK",
                "message": message,
                "shots": [0],
                "measured": {"metric": "dark_frame_share", "value": 0.92, "threshold": 0.5, "unit": "share"},
            }
        ],
    }
    db.session.commit()
    body = text(page.get(f"/analyses/{analysis.id}"))
    assert "Motion, brightness and loudness over time" in body
    assert 'class="series series-loudness"' in body
    assert 'data-testid="legend-loudness">loudness (peak -21.1 dBFS)<' in body
    assert "aac · 2 channels · 48 kHz · peak -21.1 dBFS" in body
    assert message in body
    # the curve is silent (at the bottom) for the first two seconds, then up at the tone's level
    line = body[body.index("series-loudness") - 400 : body.index("series-loudness")]
    points = [tuple(map(float, p.split(","))) for p in line.split('points="')[-1].split('"')[0].split()]
    bottom, top = 160 - 4, 4
    assert [y for x, y in points if x < 300 - 10] and all(y == bottom for x, y in points if x < 290)
    assert points[-1][1] == top

    analysis.report = {
        **analysis.report,
        "audio": None,
        "warnings": [{"code": "NO_AUDIO", "message": "The file has no audio track."}],
    }
    db.session.commit()
    body = text(page.get(f"/analyses/{analysis.id}"))
    assert 'data-testid="audio">none<' in body and "series-loudness" not in body
    assert "Motion and brightness over time" in body and "The file has no audio track." in body


def _player_src(body: str) -> str:
    import re

    return re.search(r'<video id="player"[^>]* src="([^"]+)"', body).group(1).replace("&amp;", "&")


def test_the_player_plays_the_preview_when_there_is_one_and_shots_link_to_their_second(page):
    """Without a rendition the player plays the upload; with one, the preview (and the upload stays a
    download); each shot links to the report at its start second."""
    session = _session(page)
    analysis = completed_analysis(page.user.id, session.id)
    before = text(page.get(f"/analyses/{analysis.id}"))
    source = page.get(_player_src(before))
    assert source.get_data() == b"not really a video" and "preview-note" not in before
    assert f'href="/analyses/{analysis.id}?t=2.0#shot-1" data-seek="2.0"' in before

    get_storage().put_bytes(f"{analysis.prefix}preview.mp4", b"an h264 rendition", "video/mp4")
    analysis.report = {**analysis.report, "preview_key": f"{analysis.prefix}preview.mp4"}
    db.session.commit()
    after = text(page.get(f"/analyses/{analysis.id}"))
    played = page.get(_player_src(after))
    assert played.get_data() == b"an h264 rendition" and played.mimetype == "video/mp4"
    assert "attachment" not in played.headers.get("Content-Disposition", "")
    assert 'data-testid="preview-note"' in after and "Download the original" in after
    api = page.get(f"/analyses/{analysis.id}/report.json").get_json()
    assert api["preview_url"] and "preview_key" not in api

    # A report can only point inside its own analysis: a key elsewhere is no preview.
    analysis.report = {**analysis.report, "preview_key": "users/someone-else/a/preview.mp4"}
    db.session.commit()
    assert page.get(_player_src(text(page.get(f"/analyses/{analysis.id}")))).get_data() == b"not really a video"


def test_slides_are_noted_as_a_fact_not_listed_as_a_warning(page):
    session = _session(page)
    analysis = completed_analysis(page.user.id, session.id)
    slides = "Still picture with text (slides) at 0.2-6.0 s (5.8 s in all)."
    analysis.report = {
        **analysis.report,
        "warnings": [],
        "facts": [{"code": "SLIDES", "message": slides, "spans": [[0.2, 6.0]]}],
    }
    db.session.commit()
    body = text(page.get(f"/analyses/{analysis.id}"))
    assert 'data-testid="facts"' in body and slides in body and 'data-testid="warnings"' not in body
    analysis.report = {**analysis.report, "facts": []}
    db.session.commit()
    assert 'data-testid="facts"' not in text(page.get(f"/analyses/{analysis.id}"))
