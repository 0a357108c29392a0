"""`flask backup create|restore` (services/backup): real data made through the API and a real
video job, archived, restored into an empty data folder (SQLite) or an empty database
(PostgreSQL), and found again by a new app on it: the login works and the files download."""

from __future__ import annotations

import dataclasses
import json
import tarfile

import pytest

from backend_app import create_app
from backend_app.extensions import db
from backend_app.jobs.runner import run_job
from backend_app.models import Analysis, Job
from backend_app.services.backup import database
from tests.conftest import BASE_SETTINGS
from tests.factories import PASSWORD, auth_headers, make_user
from tests.media import make_clip
from tests.uploading import make_session, upload_video


def _analysed(app, client, tmp_path):
    """A user, a session and an analysis whose job ran: a report, keyframes, a contact sheet."""
    user = make_user()
    headers = auth_headers(client, user)
    session_id = make_session(client, headers, name="kept")
    clip = make_clip(tmp_path / "clip.mp4", seconds=2, cuts=[1])
    analysis_id = upload_video(client, headers, session_id, clip)["analysis_id"]
    run_job(db.session.get(Analysis, analysis_id).job_id)
    db.session.expire_all()
    assert db.session.get(Job, db.session.get(Analysis, analysis_id).job_id).status == "completed"
    files = {
        path: client.get(path, headers=headers).get_data()
        for path in (f"/api/v1/analyses/{analysis_id}/keyframes/0", f"/api/v1/analyses/{analysis_id}/contact-sheet")
    }
    assert all(len(body) > 100 for body in files.values())
    return user, session_id, analysis_id, files


def _invoke(app, *args: str):
    """`flask backup …` on ``app`` (the CLI runs in the app context it finds: push this app's)."""
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["backup", *args])
        db.session.remove()
        db.engine.dispose()
    return result


def _target_app(db_backend, request, tmp_path, redis_server):
    overrides = dict(BASE_SETTINGS, data_dir=str(tmp_path / "restored"), redis_url=redis_server["url"])
    if db_backend == "sqlite":
        overrides["sqlite_path"] = str(tmp_path / "restored" / "framewise.db")
    else:
        overrides["database_url"] = request.getfixturevalue("postgres_server").create_database("fw_restore_target")
    return create_app(overrides)


def test_a_backup_restored_into_an_empty_target_has_every_user_session_analysis_and_file(
    app, client, db_backend, request, tmp_path, redis_server
):
    user, session_id, analysis_id, files = _analysed(app, client, tmp_path)
    archive = tmp_path / "out" / "framewise.tar.gz"
    made = app.test_cli_runner().invoke(args=["backup", "create", "--output", str(archive)])
    assert made.exit_code == 0, made.output
    assert f"backup: {archive}" in made.output and "storage: " in made.output
    assert oct(archive.stat().st_mode & 0o777) == "0o600"

    with tarfile.open(archive) as opened:
        names = opened.getnames()
        manifest = json.loads(opened.extractfile("manifest.json").read())
    _, heads = database.known_revisions()
    assert manifest["format"] == "framewise-backup" and manifest["version"] == 1
    assert manifest["migration_head"] in heads
    assert manifest["database"]["dialect"] == db_backend
    assert manifest["counts"] == database.rows_now()
    assert manifest["counts"]["users"] == 1 and manifest["counts"]["analyses"] == 1
    assert manifest["counts"]["sessions"] == 1 and manifest["counts"]["shot_documents"] >= 2
    stored = manifest["storage"]
    assert stored["included"] and stored["files"] >= 3  # the source video, keyframes, the contact sheet
    assert len([n for n in names if n.startswith("storage/")]) > stored["files"] - 1

    target = _target_app(db_backend, request, tmp_path, redis_server)
    done = _invoke(target, "restore", str(archive))
    assert done.exit_code == 0, done.output
    assert "restored: " in done.output and "users 1" in done.output

    # A new app on the restored data: the same login, sessions, report and files.
    fresh = create_app(dataclasses.asdict(target.config["SETTINGS"]))
    web = fresh.test_client()  # each request pushes (and tears down) the new app's own context
    login = web.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert login.status_code == 200, login.get_json()
    headers = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    assert session_id in json.dumps(web.get("/api/v1/sessions", headers=headers).get_json())
    report = web.get(f"/api/v1/analyses/{analysis_id}/report", headers=headers)
    assert report.status_code == 200, report.get_json()
    for path, body in files.items():
        again = web.get(path, headers=headers)
        assert again.status_code == 200 and again.get_data() == body, path
    with fresh.app_context():
        db.engine.dispose()  # PostgreSQL: its idle connections would hold the tables --force drops

    # The target is not empty any more: a second restore is refused, --force replaces it.
    again = _invoke(target, "restore", str(archive))
    assert again.exit_code != 0 and "BACKUP_TARGET_NOT_EMPTY" in again.output, again.output
    forced = _invoke(target, "restore", str(archive), "--force")
    assert forced.exit_code == 0, forced.output
    with target.app_context():
        assert database.rows_now() == manifest["counts"]
        db.engine.dispose()


@pytest.mark.sqlite_only
def test_refusals_say_why_an_archive_cannot_be_made_or_restored(app, s3_app, request, tmp_path, redis_server):
    refused = s3_app.test_cli_runner().invoke(args=["backup", "create", "--output", str(tmp_path / "a.tar.gz")])
    assert refused.exit_code != 0
    assert "BACKUP_STORAGE_NOT_LOCAL" in refused.output and "--database-only" in refused.output
    made = s3_app.test_cli_runner().invoke(
        args=["backup", "create", "--database-only", "--output", str(tmp_path / "a.tar.gz")]
    )
    assert made.exit_code == 0 and "storage: not included (s3)" in made.output, made.output
    target = _target_app("sqlite", request, tmp_path, redis_server)
    restored = _invoke(target, "restore", str(tmp_path / "a.tar.gz"))
    assert restored.exit_code == 0, restored.output
    assert "note: The archive holds no files (s3 storage): restore them separately." in restored.output

    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive")
    bad = app.test_cli_runner().invoke(args=["backup", "restore", str(junk)])
    assert bad.exit_code != 0 and "BACKUP_ARCHIVE_INVALID" in bad.output
