"""The preview rendition end to end on a real worker, local storage and S3 (moto_server).

An MPEG-4 Part 2 AVI (browsers cannot play it) uploaded through the API: the report's
``preview_url`` serves an H.264 MP4 that answers Range requests (how a browser seeks), the
export holds it byte for byte, and deleting the analysis removes it. A browser-playable MP4
gets no rendition.
"""

from __future__ import annotations

import io
import subprocess
import zipfile

import pytest

from backend_app.adapters.storage import get_storage
from tests import media
from tests.factories import auth_headers, make_user
from tests.helpers import wait_until
from tests.uploading import make_session, send, upload_video

pytestmark = [pytest.mark.sqlite_only, pytest.mark.timeout(300)]


@pytest.fixture(params=["local", "s3"])
def backend(request, app):
    if request.param == "s3":
        request.getfixturevalue("s3_app")
    return request.param


def _avi(tmp_path) -> bytes:
    clip = media.make_clip(tmp_path / "cuts.mp4", seconds=3, cuts=(1.0, 2.0))
    out = tmp_path / "cuts.avi"
    subprocess.run(
        [media.require_ffmpeg(), "-v", "error", "-y", "-i", str(clip), "-f", "lavfi", "-t", "3", "-i", "sine=f=330"]
        + ["-map", "0:v", "-map", "1:a", "-c:v", "mpeg4", "-q:v", "5", "-c:a", "libmp3lame", str(out)],
        check=True,
        capture_output=True,
    )
    return out.read_bytes()


def _completed(client, headers, analysis_id) -> dict:
    def poll():
        body = client.get(f"/api/v1/analyses/{analysis_id}", headers=headers).get_json()
        return body if body["status"] in ("completed", "failed", "canceled") else None

    status = wait_until(poll, timeout_s=240, interval_s=0.5, message="the analysis to finish")
    assert status["status"] == "completed", status
    return client.get(f"/api/v1/analyses/{analysis_id}/report", headers=headers).get_json()


def test_an_avi_gets_a_preview_that_seeks_exports_and_goes_with_its_analysis(app, backend, client, worker, tmp_path):
    headers = auth_headers(client, make_user())
    session_id = make_session(client, headers)
    analysis_id = upload_video(
        client, headers, session_id, _avi(tmp_path), filename="cuts.avi", content_type="video/x-msvideo"
    )["analysis_id"]
    report = _completed(client, headers, analysis_id)
    assert len(report["shots"]) == 3 and "preview_key" not in report
    assert report["preview_url"]

    status, whole, headers_out = send(client, "GET", report["preview_url"])
    assert status == 200 and headers_out["Content-Type"] == "video/mp4", headers_out
    assert whole[4:8] == b"ftyp" and whole.find(b"moov") < whole.find(b"mdat")  # the index first
    assert "attachment" not in headers_out.get("Content-Disposition", "")  # played inline
    status, part, headers_out = send(client, "GET", report["preview_url"], headers={"Range": "bytes=100-199"})
    assert status == 206 and part == whole[100:200], headers_out
    assert headers_out["Content-Range"] == f"bytes 100-199/{len(whole)}"
    status, tail, _ = send(client, "GET", report["preview_url"], headers={"Range": f"bytes={len(whole) - 10}-"})
    assert status == 206 and tail == whole[-10:]

    archive = zipfile.ZipFile(io.BytesIO(client.get("/api/v1/me/export", headers=headers).get_data()))
    previews = [n for n in archive.namelist() if n.endswith(f"{analysis_id}/preview.mp4")]
    assert len(previews) == 1 and archive.read(previews[0]) == whole

    assert client.delete(f"/api/v1/analyses/{analysis_id}", headers=headers).status_code == 204
    assert list(get_storage().list_keys("users/")) == []


def test_a_browser_playable_mp4_gets_no_preview(app, client, worker, tmp_path):
    headers = auth_headers(client, make_user())
    session_id = make_session(client, headers)
    clip = media.make_clip(tmp_path / "plain.mp4", seconds=2, cuts=(1.0,))
    analysis_id = upload_video(client, headers, session_id, clip)["analysis_id"]
    report = _completed(client, headers, analysis_id)
    assert report["preview_url"] is None
    assert not [k for k in get_storage().list_keys("users/") if k.endswith("preview.mp4")]
