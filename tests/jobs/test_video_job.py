"""The video_analysis job: end to end on a real worker, re-runs, failures, the AI providers, the health check."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import select, update

from backend_app.adapters.storage import get_storage
from backend_app.extensions import db
from backend_app.jobs.runner import run_job
from backend_app.models import Analysis, Job, ShotDocument, UsageRecord
from tests import video_scenes as scenes
from tests.factories import auth_headers, make_user
from tests.helpers import wait_until
from tests.uploading import make_session, upload_video

QR_TEXT = "https://framewise.test/menu?table=7"
CUTS = [50, 100]  # frames, at 25 fps
STAGES = {"fetch", "probe", "decode", "keyframes", "describe", "report", "index"}


@pytest.fixture(scope="module")
def face_qr_clip(tmp_path_factory) -> Path:
    """6 s, 320x180, H.264: a face (0-2 s), a QR code (2-4 s), a textured shot (4-6 s)."""
    path = tmp_path_factory.mktemp("video-job") / "face_qr.mp4"
    return scenes.scenes_clip(
        path,
        [
            (50, lambda i: scenes.draw_face(dx=i % 3)),
            (50, lambda i: scenes.draw_qr(QR_TEXT)),
            (50, lambda i: scenes.textured(5, i)),
        ],
    )


def uploaded(client, data, filename: str = "face_qr.mp4") -> tuple[dict, Analysis]:
    headers = auth_headers(client, make_user())
    session_id = make_session(client, headers)
    analysis_id = upload_video(client, headers, session_id, data, filename=filename)["analysis_id"]
    return headers, db.session.get(Analysis, analysis_id)


def rerun(job_id: str) -> None:
    """Put a finished row back to queued (what a retry does) and run it in this process."""
    db.session.execute(update(Job).where(Job.id == job_id).values(status="queued"))
    db.session.commit()
    run_job(job_id)
    db.session.expire_all()


def leftover_temp_dirs(app) -> list[str]:
    root = Path(app.config["SETTINGS"].data_dir) / "tmp"
    return [p.name for p in root.iterdir() if p.name.startswith("video-")] if root.exists() else []


@pytest.mark.sqlite_only
@pytest.mark.timeout(300)
def test_a_real_worker_turns_the_clip_into_a_report_chat_can_search(app, client, worker, face_qr_clip):
    headers, analysis = uploaded(client, face_qr_clip)

    def finished():
        db.session.expire_all()  # the test shares the app context (and session) with the requests
        body = client.get(f"/api/v1/analyses/{analysis.id}", headers=headers).get_json()
        return body if body["status"] in ("completed", "failed") else None

    status = wait_until(finished, timeout_s=240, interval_s=0.5, message="the analysis to finish")
    assert status["status"] == "completed", status
    db.session.expire_all()
    analysis = db.session.get(Analysis, analysis.id)
    report = analysis.report
    meta = report["metadata"]
    assert (meta["width"], meta["height"], meta["fps"], meta["frame_count"]) == (320, 180, 25.0, 150)
    assert meta["duration_s"] == pytest.approx(6.0) and meta["codec"] == "h264"
    assert analysis.sha256 == meta["sha256"] and analysis.file_size == face_qr_clip.stat().st_size
    assert [s["start_frame"] for s in report["shots"][1:]] == pytest.approx(CUTS, abs=1)
    assert [s["faces"] for s in report["shots"]] == [1, 0, 0]
    assert report["shots"][1]["qr_texts"] == [QR_TEXT]
    assert QR_TEXT in report["shots"][1]["description"] and "1 face" in report["shots"][0]["description"]
    assert report["ai"]["provider"] == "offline" and report["ai"]["ok"]
    assert {"probe", "decode", "keyframes", "describe", "report"} <= set(report["timings"])
    assert STAGES <= set(analysis.job.timings)

    storage = get_storage()
    keys = sorted(storage.list_keys(f"{analysis.prefix}keyframes/"))
    assert keys == [f"{analysis.prefix}keyframes/{n}.jpg" for n in range(3)]
    assert analysis.contact_sheet_key and storage.exists(analysis.contact_sheet_key)
    docs = db.session.scalars(
        select(ShotDocument).where(ShotDocument.analysis_id == analysis.id).order_by(ShotDocument.shot_index)
    ).all()
    assert [d.shot_index for d in docs] == [0, 1, 2]
    assert all(d.user_id == analysis.user_id and d.session_id == analysis.session_id for d in docs)
    assert QR_TEXT in docs[1].text and "face_qr.mp4" in docs[1].title and "1 face." in docs[0].text


@pytest.mark.sqlite_only
def test_a_rerun_replaces_its_outputs_instead_of_adding_to_them(app, client, face_qr_clip):
    _, analysis = uploaded(client, face_qr_clip)
    run_job(analysis.job_id)
    db.session.expire_all()
    first = db.session.get(Analysis, analysis.id).report
    storage = get_storage()
    storage.put_bytes(f"{analysis.prefix}keyframes/99.jpg", b"stale", "image/jpeg")  # left by an older run

    rerun(analysis.job_id)
    again = db.session.get(Analysis, analysis.id)
    assert again.job.status == "completed"
    assert again.report["shots"] == first["shots"]
    assert len(list(storage.list_keys(f"{analysis.prefix}keyframes/"))) == 3
    count = db.session.scalar(
        select(db.func.count()).select_from(ShotDocument).where(ShotDocument.analysis_id == analysis.id)
    )
    assert count == 3


def test_a_failure_leaves_no_temp_file_and_a_code(app, client, tmp_path):
    (tmp_path / "fake.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000))  # passes the magic check
    _, analysis = uploaded(client, tmp_path / "fake.mp4", filename="fake.mp4")
    run_job(analysis.job_id)
    db.session.expire_all()
    job = db.session.get(Job, analysis.job_id)
    assert (job.status, job.error_code) == ("failed", "VIDEO_UNREADABLE")
    assert leftover_temp_dirs(app) == []
    assert db.session.get(Analysis, analysis.id).report is None


def test_a_video_damaged_after_half_completes_and_its_report_says_where_it_ends(app, client, tmp_path, face_qr_clip):
    import subprocess

    whole = tmp_path / "front.mp4"  # the index (moov) first, so a cut-off file still opens
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(face_qr_clip), "-c", "copy", "-movflags", "+faststart", str(whole)],
        check=True,
    )
    data = whole.read_bytes()
    _, analysis = uploaded(client, data[: len(data) * 3 // 4], filename="cut.mp4")
    run_job(analysis.job_id)
    db.session.expire_all()
    analysis = db.session.get(Analysis, analysis.id)
    assert analysis.job.status == "completed"
    report = analysis.report
    assert 75 <= report["metadata"]["frame_count"] < 150 == report["metadata"]["container_frame_count"]
    incomplete = [w for w in report["warnings"] if w["code"] == "PARTIAL_DECODE"]
    assert len(incomplete) == 1
    end = incomplete[0]["end_s"]  # one past the last frame decoded: the container may hold a packet more
    assert end == pytest.approx(report["metadata"]["duration_s"], abs=0.041)
    assert len(incomplete) == 1 and incomplete[0]["spans"] == [[end, 6.0]]
    assert (incomplete[0]["analysed_s"], incomplete[0]["declared_s"]) == (end, 6.0)
    assert f"Only 0.0-{end:.1f} s of the 6.0 s" in incomplete[0]["message"]

    whole_analysis = uploaded(client, data, filename="whole.mp4")[1]  # the same file, whole: no such warning
    run_job(whole_analysis.job_id)
    db.session.expire_all()
    assert "PARTIAL_DECODE" not in [w["code"] for w in db.session.get(Analysis, whole_analysis.id).report["warnings"]]


def test_an_analysis_deleted_while_its_job_runs_leaves_no_objects_behind(app, client, face_qr_clip, monkeypatch):
    """The delete clears the storage prefix and the rows; a run that goes on writing keyframes
    after that (the stop command not yet arrived) removes them when it finds the row gone."""
    from backend_app.services.video import analyse, analyses
    from backend_app.tenancy import Tenant

    headers, analysis = uploaded(client, face_qr_clip)
    analysis_id, job_id, prefix, owner = analysis.id, analysis.job_id, analysis.prefix, analysis.user_id
    real_store = analyse.store_images

    def delete_then_store(target, out):
        analyses.delete(Tenant(owner), analysis_id)  # what DELETE /api/v1/analyses/<id> does
        real_store(target, out)

    monkeypatch.setattr(analyse, "store_images", delete_then_store)
    run_job(job_id)
    db.session.expire_all()
    assert db.session.get(Analysis, analysis_id) is None and db.session.get(Job, job_id) is None
    assert list(get_storage().list_keys(prefix)) == []
    assert (
        db.session.scalar(
            select(db.func.count()).select_from(ShotDocument).where(ShotDocument.analysis_id == analysis_id)
        )
        == 0
    )
    assert leftover_temp_dirs(app) == []
    assert client.get(f"/api/v1/analyses/{analysis_id}", headers=headers).status_code == 404


@pytest.mark.sqlite_only
@pytest.mark.timeout(300)
def test_a_run_stopped_by_a_delete_leaves_no_temp_files(app, client, worker, tmp_path):
    """The delete stops the running horse (SIGKILL): its own clean-up never runs, and the user's
    whole video stayed under DATA_DIR/tmp until the hourly purge. The worker removes it now."""
    import subprocess

    from rq.job import Job as RQJob

    from backend_app.extensions import redis_store
    from tests.media import require_ffmpeg

    path = tmp_path / "long.mp4"
    subprocess.run(
        [
            require_ffmpeg(),
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1280x720:rate=30",
            "-t",
            "30",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            str(path),
        ],
        check=True,
        timeout=120,
    )
    headers, analysis = uploaded(client, path.read_bytes(), filename="long.mp4")
    analysis_id, job_id = analysis.id, analysis.job_id

    def decoding_or_ended() -> Job | None:
        db.session.expire_all()
        job = db.session.get(Job, job_id)
        return job if job is not None and (job.stage == "decode" or job.status in ("completed", "failed")) else None

    # Under a loaded CI (2 cores, four test processes, a local model answering) the horse can take
    # well over a minute to reach the pass; the test's own timeout bounds the wait.
    job = wait_until(decoding_or_ended, timeout_s=180, interval_s=0.05, message="the run to be decoding")
    assert job.stage == "decode", (job.status, job.stage, job.error_code, job.error_message)
    assert leftover_temp_dirs(app), "the run should hold its temp dir while decoding"
    assert client.delete(f"/api/v1/analyses/{analysis_id}", headers=headers).status_code == 204
    wait_until(
        lambda: RQJob.fetch(job_id, connection=redis_store.conn).get_status() == "stopped",
        timeout_s=30,
        message="the horse to be stopped mid-run",
    )
    wait_until(lambda: leftover_temp_dirs(app) == [], timeout_s=15, message="the temp dir to be removed")
    assert worker.poll() is None


@pytest.mark.sqlite_only
def test_a_missing_source_object_fails_without_retry_or_temp_files(app, client, face_qr_clip):
    _, analysis = uploaded(client, face_qr_clip)
    get_storage().delete(analysis.storage_key)
    run_job(analysis.job_id)
    db.session.expire_all()
    job = db.session.get(Job, analysis.job_id)
    assert (job.status, job.error_code) == ("failed", "STORAGE_DOWNLOAD_FAILED")
    assert leftover_temp_dirs(app) == []


def vision_answer(request: dict) -> str:
    """The local OpenAI-protocol server's vision model: one description per image it was sent."""
    content = request["messages"][0]["content"]
    shots = [
        int(part["text"].split(":")[0].split()[1])
        for part in content
        if part["type"] == "text" and part["text"].startswith("Shot ")
    ]
    assert sum(
        1
        for part in content
        if part["type"] == "image_url" and part["image_url"]["url"].startswith("data:image/jpeg;base64,")
    ) == len(shots)
    return json.dumps(
        {
            "summary": "A face, a menu QR code and a striped wall.",
            "shots": [{"index": i, "description": f"model text {i}", "labels": ["Model Label"]} for i in shots],
        }
    )


@pytest.mark.sqlite_only
def test_openai_describes_keyframes_records_usage_and_is_cached(openai_app, fake_openai, client, face_qr_clip):
    fake_openai.responder = vision_answer
    _, analysis = uploaded(client, face_qr_clip)
    run_job(analysis.job_id)
    db.session.expire_all()
    report = db.session.get(Analysis, analysis.id).report
    assert report["ai"]["ok"] and report["ai"]["provider"] == "openai"
    assert [s["description"] for s in report["shots"]] == ["model text 0", "model text 1", "model text 2"]
    assert "model label" in report["shots"][0]["labels"] and "face" in report["shots"][0]["labels"]
    assert report["summary"]["description"] == "A face, a menu QR code and a striped wall."
    assert len(fake_openai.requests) == 1
    assert fake_openai.requests[0]["model"] == openai_app.config["SETTINGS"].openai_vision_model
    usage = db.session.scalars(select(UsageRecord).where(UsageRecord.user_id == analysis.user_id)).all()
    assert [(u.purpose, u.cached) for u in usage] == [("video_description", False)]

    rerun(analysis.job_id)  # same keyframes: answered from the Redis cache
    assert len(fake_openai.requests) == 1
    assert db.session.get(Analysis, analysis.id).report["ai"]["cached"] is True


@pytest.mark.sqlite_only
@pytest.mark.parametrize("answer, calls", [({"status": 500}, 3), ("this is not JSON", 2)])
def test_openai_failure_is_retried_then_the_report_completes_without_ai_text(
    openai_app, fake_openai, client, face_qr_clip, answer, calls
):
    fake_openai.responder = lambda request: answer
    _, analysis = uploaded(client, face_qr_clip)
    run_job(analysis.job_id)
    db.session.expire_all()
    analysis = db.session.get(Analysis, analysis.id)
    assert analysis.job.status == "completed"
    assert len(fake_openai.requests) == calls
    report = analysis.report
    assert report["ai"]["ok"] is False and "unavailable" in report["ai"]["note"]
    assert "AI_DESCRIPTION_UNAVAILABLE" in [w["code"] for w in report["warnings"]]
    assert QR_TEXT in report["shots"][1]["description"]  # the offline text stays


def test_health_analysis_pipeline_runs_the_real_stages_and_caches(app, client):
    first = client.get("/health/analysis-pipeline")
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["ok"] and not body["cached"]
    assert {"probe", "decode", "keyframes", "describe", "report"} <= set(body["stages"])
    assert body["found"]["cut_frames"] == body["expected"]["cut_frames"] and body["found"]["qr_found"]
    second = client.get("/health/analysis-pipeline").get_json()
    assert second["cached"] and second["checked_at"] == body["checked_at"]


@pytest.mark.sqlite_only
@pytest.mark.settings(max_video_pixels=100)
def test_health_analysis_pipeline_answers_503_when_the_pipeline_fails(app, client):
    response = client.get("/health/analysis-pipeline")
    assert response.status_code == 503
    assert response.get_json()["ok"] is False and "VIDEO_TOO_LARGE" in response.get_json()["error"]


def test_the_worker_loads_the_face_cascade_and_colour_tables_before_its_horses_fork():
    """worker.py's preload warms what video jobs read, so no forked horse parses the cascade or
    builds OpenCV's Lab tables again (the named colours' conversion builds them); the openai SDK is
    imported only where a model is called (adapters.llm, on first use)."""
    import subprocess
    import sys

    script = (
        "from backend_app.adapters.vision import keyframes as k; from backend_app.jobs.workers import preload;"
        "loaded = lambda: (k.face_cascade.cache_info().currsize, k._named_lab.cache_info().currsize);"
        "before = loaded(); preload(); import sys; print(*before, *loaded(), 'openai' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.stdout.split() == ["0", "0", "1", "1", "False"]  # the LLM stack stays out of video horses


@pytest.mark.parametrize("provider", ["offline", "openai"])
def test_the_worker_imports_the_openai_sdk_before_the_fork_only_when_a_model_is_called(provider):
    """With a model, every LLM job's horse imported the SDK again (~0.75 s of CPU a job)."""
    import subprocess
    import sys

    script = (
        "import sys; from backend_app.jobs.workers import preload; from backend_app.settings import load_settings;"
        f"preload(load_settings({{}}, ai_provider={provider!r}, openai_api_key='test'));"
        "print('openai' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.stdout.split() == [str(provider == "openai")]


HORSE_AFTER_PRELOAD = """
import os, signal, time
import cv2, numpy
from backend_app.jobs.workers import preload

preload()
pid = os.fork()
if pid == 0:  # a work horse: the pass sets OpenCV's pool size, then the pool splits a resize
    cv2.setNumThreads(1)
    cv2.setNumThreads(2)
    cv2.resize(numpy.zeros((1080, 1920), numpy.uint8), (960, 540))
    os._exit(0)
deadline = time.monotonic() + 30
while True:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        print("exit", os.waitstatus_to_exitcode(status))
        break
    if time.monotonic() > deadline:
        os.kill(pid, signal.SIGKILL)
        print("hung")
        break
    time.sleep(0.05)
"""


def test_a_horse_forked_after_the_preload_can_use_opencvs_thread_pool():
    """The preload built OpenCV's Lab tables with the pool running: every horse then hung for
    good in the pass's first setNumThreads (it waited on the parent's pool threads)."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", HORSE_AFTER_PRELOAD],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=60,
    )
    assert out.stdout.split() == ["exit", "0"]  # the horse finished, and did not fail
