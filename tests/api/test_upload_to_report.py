"""End to end through the API on a real worker: upload → queued → completed report, local and S3.

A file that passes the upload checks but cannot be decoded (a truncated MP4) must end as a
failed analysis with a code — never a 500, never stuck in ``queued``.
"""

from __future__ import annotations

import pytest

from tests.factories import auth_headers, make_user
from tests.helpers import wait_until
from tests.media import make_clip
from tests.uploading import make_session, upload_video

pytestmark = [pytest.mark.sqlite_only, pytest.mark.timeout(300)]


@pytest.fixture(params=["local", "s3"])
def backend(request, app):
    if request.param == "s3":
        request.getfixturevalue("s3_app")
    return request.param


def _finished(client, headers, analysis_id):
    def poll():
        body = client.get(f"/api/v1/analyses/{analysis_id}", headers=headers).get_json()
        return body if body["status"] in ("completed", "failed", "canceled") else None

    return wait_until(poll, timeout_s=240, interval_s=0.5, message="the analysis to finish")


def test_uploaded_clip_becomes_a_report_with_images(app, backend, client, worker, tmp_path):
    headers = auth_headers(client, make_user())
    session_id = make_session(client, headers)
    clip = make_clip(tmp_path / "cuts.mp4", seconds=3, cuts=(1.0, 2.0))
    analysis_id = upload_video(client, headers, session_id, clip)["analysis_id"]

    status = _finished(client, headers, analysis_id)
    assert status["status"] == "completed", status
    report = client.get(f"/api/v1/analyses/{analysis_id}/report", headers=headers).get_json()
    assert len(report["shots"]) == 3
    assert report["metadata"]["frame_count"] == 75
    for shot in report["shots"]:
        image = client.get(shot["keyframe_url"], headers=headers)
        assert image.status_code == 200 and image.get_data()[:2] == b"\xff\xd8"

    assert client.delete(f"/api/v1/analyses/{analysis_id}", headers=headers).status_code == 204
    from backend_app.adapters.storage import get_storage

    assert list(get_storage().list_keys("users/")) == []


def test_truncated_mp4_fails_with_a_code(app, backend, client, worker, tmp_path):
    headers = auth_headers(client, make_user())
    session_id = make_session(client, headers)
    whole = make_clip(tmp_path / "whole.mp4", seconds=2).read_bytes()
    truncated = whole[: len(whole) // 3]  # keeps the ftyp box, loses the rest (the moov box is at the end)
    analysis_id = upload_video(client, headers, session_id, truncated)["analysis_id"]

    status = _finished(client, headers, analysis_id)
    assert status["status"] == "failed"
    assert status["error_code"] and status["error_code"] != "INTERNAL_ERROR", status
    response = client.get(f"/api/v1/analyses/{analysis_id}/report", headers=headers)
    assert response.status_code == 409
