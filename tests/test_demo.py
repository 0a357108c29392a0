"""`flask demo seed`: a demo account whose every page has real content, made by the real worker."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from sqlalchemy import select

from backend_app.cli.demo import QUESTIONS, SESSION_NAME
from backend_app.extensions import db
from backend_app.models import Analysis, Session, User
from tests.factories import login
from tests.helpers import ROOT, env_for

pytestmark = [pytest.mark.sqlite_only, pytest.mark.timeout(600)]


def _seed(app, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi:app", "demo", "seed", *args],
        env={**os.environ, **env_for(app)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=500,
    )


def test_demo_seed_creates_a_user_with_an_analysed_video_a_batch_and_chat(app, client):
    out = _seed(app)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    password = re.search(r"password:\s+(\S+)", out.stdout).group(1)
    assert "demo login: demo@framewise.local" in out.stdout
    assert "starting `worker.py --burst`" in out.stdout  # no live worker here: the real one, in burst mode

    db.session.expire_all()
    user = db.session.execute(select(User).where(User.email == "demo@framewise.local")).scalar_one()
    session = db.session.execute(select(Session).where(Session.user_id == user.id)).scalar_one()
    assert session.name == SESSION_NAME
    analysis = db.session.execute(select(Analysis).where(Analysis.user_id == user.id)).scalar_one()
    assert analysis.job.status == "completed"

    headers = {"Authorization": f"Bearer {login(client, user.email, password)['access_token']}"}
    report = client.get(f"/api/v1/analyses/{analysis.id}/report", headers=headers).get_json()
    assert len(report["shots"]) >= 3 and any(shot["qr_texts"] for shot in report["shots"])
    history = client.get("/api/v1/chat/history", query_string={"session_id": session.id}, headers=headers).get_json()
    assert QUESTIONS[0] in str(history)
    from backend_app.models.requirement import RequirementBatch

    batch = db.session.execute(select(RequirementBatch).where(RequirementBatch.user_id == user.id)).scalar_one()
    assert batch.job.status == "completed"
    body = client.get(f"/api/v1/batch/{batch.id}", headers=headers).get_json()
    assert len(body["results"]) == 4

    again = _seed(app, "--password", "a chosen demo password")  # re-running resets the password
    assert again.returncode == 0, again.stderr[-2000:]
    db.session.rollback()  # the account was changed by another process
    login(client, user.email, "a chosen demo password")
