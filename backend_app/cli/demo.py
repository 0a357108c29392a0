"""`flask demo seed` (`make demo`): a demo account with real content on every page.

Creates (or reuses) the demo user, a session, a generated sample video analysed by the real
worker, a requirements batch, and a few chat questions about the video. Each part skips
with a note when its area is not installed. Jobs are run by the live workers (`make run`
in another terminal); when none is alive, by a real `worker.py --burst` started here, and
when the configured local Redis is not running, by an embedded one started for the run.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from backend_app.extensions import db, redis_store
from backend_app.settings import PROJECT_ROOT

demo_cli = AppGroup("demo", help="Demo data for a first look.")

SESSION_NAME = "Demo: a street, a night, a QR code and a park"
QUESTIONS = ["Where is the QR code?", "Which shots are dark?", "Which shot has the most motion?"]
REQUIREMENTS = """| id | requirementText | context |
|---|---|---|
| DEMO-1 | The pump shall start within 2 seconds after the operator presses START. | {"component": "pump"} |
| DEMO-2 | The system should be fast and user friendly, etc. | {"component": "ui"} |
| DEMO-3 | It shall log errors and send alerts and rotate files. | {"component": "logging"} |
| DEMO-4 | The display shall show the tank level in litres with a tolerance of 1 %. | {"component": "display"} |
"""


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _note(text: str) -> None:
    click.echo(click.style(f"  - {text}", fg="yellow"))


def demo_user(email: str, password: str | None):
    """The demo account (created, or its password reset: it is a demo); returns (user, password)."""
    from backend_app.errors import Conflict
    from backend_app.models import User
    from backend_app.services import accounts

    password = password or secrets.token_urlsafe(9)
    existing = db.session.execute(
        select(User).where(User.email == accounts.normalize_email(email))
    ).scalar_one_or_none()
    if existing is None:
        return accounts.register(email, password), password
    if existing.is_admin:
        raise Conflict(f"{email} is an admin account; choose another --email for the demo.", code="DEMO_EMAIL_TAKEN")
    existing.set_password(password)
    db.session.commit()
    return existing, password


@contextmanager
def redis_available() -> Iterator[None]:
    """Make sure the configured Redis answers, starting an embedded one for a local URL if needed."""
    from backend_app import local_redis

    settings = current_app.config["SETTINGS"]
    url = urlparse(settings.redis_url)
    proc = None
    if url.hostname in ("127.0.0.1", "localhost") and not local_redis.port_in_use(url.port or 6379):
        click.echo(f"starting embedded Redis on port {url.port or 6379} for the demo")
        proc = local_redis.start(url.port or 6379, Path(settings.data_dir) / "redis")
    try:
        redis_store.conn.ping()
        yield
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=15)


def run_jobs(job_ids: list[str], wait_s: float) -> dict[str, str]:
    """Wait for the jobs: by live workers, or by a real burst worker started here."""
    from backend_app.models import Job
    from backend_app.queue.workers import live_workers

    burst = None
    if not live_workers():
        click.echo("no worker is running: starting `worker.py --burst` to run the demo jobs")
        burst = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "worker.py"), "--burst"], cwd=PROJECT_ROOT)
    deadline = time.monotonic() + wait_s
    try:
        while True:
            db.session.expire_all()
            rows = {job_id: db.session.get(Job, job_id) for job_id in job_ids}
            if all(row.is_finished for row in rows.values()) or time.monotonic() > deadline:
                return {job_id: row.status for job_id, row in rows.items()}
            if burst is not None and burst.poll() is not None:
                burst = subprocess.Popen(
                    [sys.executable, str(PROJECT_ROOT / "worker.py"), "--burst"], cwd=PROJECT_ROOT
                )  # jobs queued meanwhile
            time.sleep(0.5)
    finally:
        if burst is not None and burst.poll() is None:
            try:
                burst.wait(timeout=30)  # a burst worker leaves once the queues are empty
            except subprocess.TimeoutExpired:
                burst.terminate()
                burst.wait(timeout=30)


def upload_sample(tenant) -> str | None:
    """Generate the sample video and upload it through the uploads service; returns its job id."""
    if not (_has("backend_app.services.video.uploads") and _has("backend_app.jobs.video")):
        _note("video: the uploads service or the video job is not installed; skipped")
        return None
    from backend_app.adapters.vision.demo_clip import write_demo_clip
    from backend_app.services.video import uploads

    with tempfile.TemporaryDirectory(prefix="framewise-demo-") as tmp:
        path = os.path.join(tmp, "demo-street.mp4")
        write_demo_clip(path)
        with open(path, "rb") as stream:
            analysis = uploads.one_shot(
                tenant,
                session_id=tenant.session_id,
                filename="demo-street.mp4",
                content_type="video/mp4",
                stream=stream,
            )
    click.echo(f"uploaded demo-street.mp4 (analysis {analysis.id})")
    return analysis.job_id


def submit_batch(tenant) -> str | None:
    if not _has("backend_app.services.requirements.batch"):
        _note("requirements: the requirements service is not installed; skipped")
        return None
    from backend_app.services.requirements import batch

    submitted = batch.submit(tenant, "evaluate", REQUIREMENTS, source="demo", criteria_keys=None, variant="v1")
    click.echo(f"submitted a requirements batch of {submitted.total_rows} rows (batch {submitted.id})")
    return submitted.job_id


def ask_questions(tenant) -> None:
    if not _has("backend_app.services.chat.conversation"):
        _note("chat: the chat service is not installed; skipped")
        return
    from backend_app.services.chat import conversation as chat

    for question in QUESTIONS:
        reply = chat.answer(chat.prepare(tenant.user_id, question, tenant.session_id))
        click.echo(f"asked {question!r}: {reply['answer'][:90]!r}")


@demo_cli.command("seed")
@click.option("--email", default="demo@framewise.local", show_default=True)
@click.option("--password", default=None, help="Omit to generate one (printed).")
@click.option("--wait", "wait_s", default=300.0, show_default=True, help="Seconds to wait for the demo jobs.")
def seed(email: str, password: str | None, wait_s: float) -> None:
    """Create the demo user with a session, an analysed video, a requirements batch and chat."""
    from backend_app.services import sessions
    from backend_app.tenancy import Tenant

    user, password = demo_user(email, password)
    session = sessions.create(Tenant(user.id), SESSION_NAME)
    tenant = Tenant(user.id, session.id)
    click.echo(f"demo user {user.email}, session {session.id}")
    with redis_available():
        job_ids = [j for j in (upload_sample(tenant), submit_batch(tenant)) if j]
        if job_ids:
            statuses = run_jobs(job_ids, wait_s)
            for job_id, status in statuses.items():
                (click.echo if status == "completed" else _note)(f"job {job_id}: {status}")
        ask_questions(tenant)
    settings = current_app.config["SETTINGS"]
    click.echo("\n" + "=" * 60)
    click.echo(f"  demo login: {user.email}")
    click.echo(f"  password:   {password}")
    click.echo(f"  open http://{settings.api_host}:{settings.api_port}/ (make run)")
    click.echo("=" * 60)
