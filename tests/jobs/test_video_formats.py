"""Every video the bundled FFmpeg decodes is analysed; what it cannot decode is refused with its code.

Each file is made here with the system ffmpeg (short and small), uploaded through the API and
run by a real worker (or, for refusals, by the runner in this process).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from backend_app.extensions import db
from backend_app.jobs.runner import run_job
from backend_app.models import Analysis, Job
from tests.factories import auth_headers, make_user
from tests.helpers import wait_until
from tests.uploading import init_upload, make_session, send, upload_video

SOURCE = ["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-t", "2"]
# name -> (encoder, ffmpeg arguments, content type, report codec); 2 s at 25 fps, 320x180.
FORMATS = {
    "msmpeg4v3.avi": ("msmpeg4", ["-c:v", "msmpeg4"], "video/x-msvideo", "msmpeg4v3"),
    "cinepak.avi": ("cinepak", ["-c:v", "cinepak"], "video/x-msvideo", "cinepak"),
    "mpeg2.mpg": ("mpeg2video", ["-c:v", "mpeg2video", "-f", "vob"], "video/mpeg", "mpeg2"),
    "wmv2.asf": ("wmv2", ["-c:v", "wmv2"], "video/x-ms-asf", "wmv2"),
    "theora.ogv": ("libtheora", ["-c:v", "libtheora"], "video/ogg", "theora"),
    "mjpeg.avi": ("mjpeg", ["-c:v", "mjpeg"], "video/x-msvideo", "mjpeg"),
    "hevc.mkv": ("libx265", ["-c:v", "libx265", "-x265-params", "log-level=error"], "video/x-matroska", "hevc"),
    "flv1.flv": ("flv", ["-c:v", "flv"], "video/x-flv", "flv"),  # Sorenson Spark: the FLV of old web video
}


def ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg) — needed to make the test videos")
    return path


def encoders() -> set[str]:
    listing = subprocess.run([ffmpeg(), "-hide_banner", "-encoders"], capture_output=True, text=True, check=True)
    return {line.split()[1] for line in listing.stdout.splitlines()[10:] if len(line.split()) > 1}


def make(path: Path, *args: str) -> Path:
    subprocess.run([ffmpeg(), "-v", "error", "-y", *args, str(path)], check=True, timeout=120)
    return path


def uploader(client):
    headers = auth_headers(client, make_user())
    return headers, make_session(client, headers)


@pytest.mark.sqlite_only
@pytest.mark.timeout(400)
def test_every_format_ffmpeg_decodes_completes_through_a_real_worker(app, client, start_worker, tmp_path):
    # Decoding is under test here; each non-browser format's preview rendition (tests/adapters/
    # test_preview.py, tests/web/test_preview_player.py) would double the worker's work under load.
    start_worker(1, extra_env={"VIDEO_PREVIEW": "false"})
    have = encoders()
    missing = sorted(f"{name} ({spec[0]})" for name, spec in FORMATS.items() if spec[0] not in have)
    headers, session_id = uploader(client)
    started = {}
    for name, (encoder, args, content_type, codec) in FORMATS.items():
        if encoder not in have:
            continue
        path = make(tmp_path / name, *SOURCE, *args)
        body = upload_video(client, headers, session_id, path, filename=name, content_type=content_type)
        started[name] = (body["analysis_id"], codec)
    assert len(started) >= 5, f"too few encoders in this ffmpeg: missing {missing}"

    def finished():
        db.session.expire_all()
        rows = {name: db.session.get(Analysis, aid) for name, (aid, _) in started.items()}
        done = {name: a for name, a in rows.items() if a.job.status in ("completed", "failed")}
        return done if len(done) == len(rows) else None

    done = wait_until(finished, timeout_s=360, interval_s=0.5, message="every format's analysis to finish")
    for name, analysis in done.items():
        job = analysis.job
        assert job.status == "completed", (name, job.error_code, job.error_message)
        meta = analysis.report["metadata"]
        assert meta["codec"] == started[name][1], name
        assert (meta["width"], meta["height"], meta["fps"]) == (320, 180, 25.0), name
        assert meta["frame_count"] == 50 and meta["duration_s"] == pytest.approx(2.0), name
        assert analysis.report["shots"] and analysis.report["shots"][0]["keyframe_key"], name
        assert "PARTIAL_DECODE" not in [w["code"] for w in analysis.report["warnings"]], name
    if missing:  # said, not hidden: the formats this machine's ffmpeg cannot make were not tried
        pytest.skip(f"ffmpeg lacks encoders for {', '.join(missing)}; the other formats completed")


def failed_code(client, headers, session_id, path: Path, filename: str, content_type: str) -> tuple[str, str]:
    analysis_id = upload_video(client, headers, session_id, path, filename=filename, content_type=content_type)[
        "analysis_id"
    ]
    run_job(db.session.get(Analysis, analysis_id).job_id)
    db.session.expire_all()
    job = db.session.get(Job, db.session.get(Analysis, analysis_id).job_id)
    assert job.status == "failed", (filename, job.status)
    return job.error_code, job.error_message


def test_files_without_a_decodable_video_are_refused_with_their_codes(app, client, tmp_path):
    headers, session_id = uploader(client)
    sound = make(tmp_path / "sound.mp4", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac")
    code, message = failed_code(client, headers, session_id, sound, "sound.mp4", "video/mp4")
    assert code == "NO_VIDEO_STREAM" and "no picture" in message

    zero = make(tmp_path / "zero.avi", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-frames:v", "0")
    code, message = failed_code(client, headers, session_id, zero, "zero.avi", "video/x-msvideo")
    assert code == "NO_DECODABLE_FRAMES" and "no frame" in message

    noise = os.urandom(64 * 1024)  # random bytes named .mp4: the upload's magic-byte check refuses them
    ticket = init_upload(client, headers, session_id, size=len(noise), filename="noise.mp4").get_json()
    status, _, _ = send(client, ticket["method"], ticket["upload_url"], data=noise, headers=ticket["headers"])
    assert status in (200, 201)
    done = client.post("/api/v1/uploads/complete", json={"analysis_id": ticket["analysis_id"]}, headers=headers)
    assert (done.status_code, done.get_json()["error"]["code"]) == (415, "UNSUPPORTED_FORMAT")
    # … and behind an MP4 signature, which passes that check, the worker's probe refuses them.
    disguised = tmp_path / "disguised.mp4"
    disguised.write_bytes(b"\x00\x00\x00\x18ftypmp42" + noise)
    code, _ = failed_code(client, headers, session_id, disguised, "disguised.mp4", "video/mp4")
    assert code == "VIDEO_UNREADABLE"
