"""The lifecycle hooks, listed: what the factory wires (services/lifecycle.py), in the order it runs.

A hook added, dropped or reordered changes this list on purpose. The order matters where it is
kept: an account's jobs are stopped before its objects go, core health checks come first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from backend_app import create_app
from backend_app.services import hooks
from tests.helpers import ROOT, env_for

pytestmark = pytest.mark.sqlite_only

EXPECTED = {
    "session_cleanup": [
        "backend_app.services.video.data.cleanup_session",
        "backend_app.services.documents.data.cleanup_session",
        "backend_app.services.requirements.cleanup.cleanup_session",
    ],
    "purge": [
        "backend_app.services.video.data.purge_abandoned_uploads",
        "backend_app.services.documents.data.purge_documents",
        "backend_app.services.requirements.cleanup.purge_requirements",
        "backend_app.services.chat.conversation.purge_messages",
        "backend_app.services.study.data.purge_study",
        "backend_app.services.api_keys.purge_events",
    ],
    "erase": [
        "backend_app.services.ownership.remove_rq_jobs",
        "backend_app.services.ownership.forget_llm_answers",
        "backend_app.services.video.data.erase_objects",
        "backend_app.services.requirements.cleanup.erase_user",
    ],
    "file_export": [
        "backend_app.services.video.data.export_objects",
    ],
    "health": [
        "database=backend_app.services.health.check_database",
        "redis=backend_app.services.health.check_redis",
        "workers=backend_app.services.health.check_workers",
        "queues=backend_app.services.health.check_queues",
        "jobs=backend_app.services.health.job_counts",
        "flags=backend_app.services.health.flag_states",
        "ai=backend_app.services.health.check_ai",
        "analysers=backend_app.services.health.check_analysers",
        "storage=backend_app.services.video.data.check_storage",
    ],
}


def test_the_app_lists_every_lifecycle_hook_in_order(app):
    assert hooks.of(app).names() == EXPECTED


def test_each_app_has_its_own_registry_filled_once(app):
    """Building another app (the tests build many) neither shares nor doubles the hooks."""
    settings = app.config["SETTINGS"]
    other = create_app(
        {
            "app_env": "test",
            "sqlite_path": settings.sqlite_path,
            "data_dir": settings.data_dir,
            "redis_url": settings.redis_url,
        }
    )
    assert hooks.of(other) is not hooks.of(app)
    assert hooks.of(other).names() == hooks.of(app).names() == EXPECTED


def test_a_worker_has_the_same_hooks_as_the_web_app(app):
    """worker.py's app, built in a fresh process: the hooks come from the factory, not from
    whatever modules the process happened to import (the web's blueprints, the test's imports)."""
    script = (
        "import json, worker; from backend_app.services import hooks;"
        "print(json.dumps(hooks.of(worker.build_app()).names()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, **env_for(app)},
        timeout=120,
    )
    assert json.loads(out.stdout.splitlines()[-1]) == EXPECTED
