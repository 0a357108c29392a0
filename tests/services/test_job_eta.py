"""ETA from past runs of the same kind and size, corrected by a running job's own progress."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend_app.extensions import db
from backend_app.models.base import utcnow
from backend_app.queue.enqueue import create_job
from backend_app.services.jobs import eta_s, expected_duration_s


def _done(kind: str, seconds: float, size: float | None):
    job = create_job(kind, user_id=None, status="completed", size_hint=size)
    job.finished_at = utcnow()
    job.started_at = job.finished_at - timedelta(seconds=seconds)
    return job


def test_expected_duration_prefers_similar_sizes(app):
    for seconds, size in ((10, 10), (12, 10), (13, 10), (500, 1000)):
        _done("video_analysis", seconds, size)
    _done("requirements_batch", 99, None)
    db.session.commit()
    assert expected_duration_s("video_analysis", 10) == 12.0  # 1.2 s per unit among similar sizes (all: 1.1)
    assert expected_duration_s("requirements_batch", None) == 99
    assert expected_duration_s("purge", None) is None
    assert expected_duration_s("video_analysis", 1500) == pytest.approx(1650.0)  # within 2x of the sizes seen: scaled
    assert expected_duration_s("video_analysis", 50_000) is None  # far beyond them: no wild guess


def test_eta_for_queued_and_running_jobs(app):
    for _ in range(3):
        _done("video_analysis", 100, 10)
    queued = create_job("video_analysis", user_id=None, size_hint=10)
    running = create_job("video_analysis", user_id=None, size_hint=10, status="running")
    running.started_at, running.progress = utcnow() - timedelta(seconds=40), 50
    finished = create_job("video_analysis", user_id=None, status="completed")
    db.session.commit()
    assert eta_s(queued) == 100.0
    # history says 100 s, its own pace says 80 s; half-way it trusts each half: 90 - 40 elapsed
    assert 49 <= eta_s(running) <= 51
    assert eta_s(finished) is None and eta_s(None) is None
