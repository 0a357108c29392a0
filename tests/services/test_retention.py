"""Retention: old analyses (objects, shot documents, rows), finished job rows, registered purgers,
orphaned temp files; nothing newer than PURGE_RETENTION_H, nothing still running."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest

from backend_app.adapters.storage import get_storage
from backend_app.extensions import db
from backend_app.models import Analysis, Job, Passage, Person, ShotDocument
from backend_app.models.base import utcnow
from backend_app.queue.enqueue import create_job
from backend_app.services import hooks, retention, sessions
from backend_app.services.chat import passage_search, passages
from backend_app.tenancy import Tenant
from tests.factories import make_user

pytestmark = pytest.mark.settings(purge_retention_h=24)


def _analysis(user, session, *, age_h: float, job_status: str = "completed") -> Analysis:
    job = create_job("video_analysis", user_id=user.id, session_id=session.id, status=job_status)
    db.session.flush()
    created = utcnow() - timedelta(hours=age_h)
    job.created_at = job.finished_at = created
    analysis = Analysis(
        user_id=user.id,
        session_id=session.id,
        job_id=job.id,
        filename="a.mp4",
        content_type="video/mp4",
        declared_size=10,
        storage_key="x",
        created_at=created,
    )
    db.session.add(analysis)
    db.session.flush()
    analysis.storage_key = f"{analysis.prefix}source.mp4"
    for index in range(2):
        db.session.add(
            ShotDocument(
                user_id=user.id,
                session_id=session.id,
                analysis_id=analysis.id,
                shot_index=index,
                start_s=index,
                end_s=index + 1,
                text="shot",
            )
        )
    db.session.add(
        Person(
            user_id=user.id,
            analysis_id=analysis.id,
            person_id="p1",
            label="Person A",
            user_person=analysis.id,
            embedding=b"\0" * 8,
        )
    )
    passages.index_analysis_extras(
        analysis,
        {
            "transcript": [{"start_s": 0.5, "end_s": 1.5, "text": "spoken words"}],
            "texts": [{"start_s": 0.0, "end_s": 1.0, "text": "EXIT"}],
        },
    )
    db.session.commit()
    get_storage().put_bytes(analysis.storage_key, b"video")
    get_storage().put_bytes(f"{analysis.prefix}keyframes/0.jpg", b"jpg")
    return analysis


def test_purge_deletes_only_old_finished_data(app):
    user = make_user()
    session = sessions.create(Tenant(user.id), "s")
    old = _analysis(user, session, age_h=48)
    old_running = _analysis(user, session, age_h=48, job_status="running")
    new = _analysis(user, session, age_h=1)
    lone_job = create_job("selftest", user_id=None, status="failed")
    lone_job.finished_at = utcnow() - timedelta(hours=30)
    db.session.commit()
    old_id, old_prefix, lone_id = old.id, old.prefix, lone_job.id

    seen = []
    purgers = hooks.current().purge
    purgers.append(lambda cutoff, dry_run: seen.append((cutoff, dry_run)) or {"chat_messages": 7})
    try:
        dry = retention.purge(dry_run=True)
        assert (dry["analyses"], dry["shot_documents"], dry["passages"], dry["people"], dry["jobs"]) == (1, 2, 2, 1, 1)
        assert db.session.get(Analysis, old_id) is not None
        counts = retention.purge()
    finally:
        purgers.pop()
    assert (counts["analyses"], counts["shot_documents"], counts["storage_objects"]) == (1, 2, 2)
    assert counts["passages"] == 2  # the transcript and on-screen text go with their analysis
    assert counts["people"] == 1  # and its people (face embeddings)
    assert counts["jobs"] == 2  # the lone failed job and the old analysis's own job
    assert counts["chat_messages"] == 7 and [d for _, d in seen] == [True, False]
    db.session.expire_all()
    assert db.session.get(Analysis, old_id) is None and db.session.get(Job, lone_id) is None
    assert list(get_storage().list_keys(old_prefix)) == []
    assert db.session.get(Analysis, old_running.id) is not None and db.session.get(Analysis, new.id) is not None
    kept_docs = db.session.query(ShotDocument).count()
    assert kept_docs == 4
    assert {p.analysis_id for p in db.session.query(Passage)} == {old_running.id, new.id}
    assert passage_search.search(Tenant(user.id), "spoken words EXIT") and passage_search.indexed_count(None) == 4


@pytest.mark.sqlite_only
def test_orphaned_temp_files_are_removed(app):
    root = os.path.join(app.config["SETTINGS"].data_dir, "tmp")
    os.makedirs(os.path.join(root, "video-old"), exist_ok=True)
    os.makedirs(os.path.join(root, "video-new"), exist_ok=True)
    stale = os.path.join(root, "video-old", "source.mp4")
    fresh = os.path.join(root, "video-new", "source.mp4")
    for path in (stale, fresh):
        with open(path, "wb") as handle:
            handle.write(b"x")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    os.utime(os.path.dirname(stale), (two_hours_ago, two_hours_ago))
    assert retention.purge_tmp(dry_run=True) == {"tmp_files": 1} and os.path.exists(stale)
    assert retention.purge()["tmp_files"] == 1
    assert not os.path.exists(stale) and os.path.exists(fresh)


@pytest.mark.sqlite_only
def test_purge_job_runs_on_a_worker(app, worker):
    from backend_app.queue.enqueue import submit
    from tests.helpers import wait_until

    job = submit("purge", user_id=None)

    def done():
        db.session.expire_all()
        row = db.session.get(Job, job.id)
        return row if row.is_finished else None

    row = wait_until(done, timeout_s=60, message="purge job")
    assert row.status == "completed", row.to_dict()
    assert {"analyses", "jobs", "tmp_files", "cutoff"} <= set(row.result)
