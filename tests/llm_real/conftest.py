"""The real-model tier: a real llama.cpp server with SmolLM2-135M (tests/llm_server.py), the app
served by a real gunicorn and a real RQ worker, both pointed at it with AI_PROVIDER=openai.

Every test here is marked ``real_model`` and grouped on one xdist process (``xdist_group``; the
Makefile runs the suite with ``--dist loadgroup``), so one model server serves the whole tier.
Without the two wheels the tests skip and say which one is missing; a server that is installed
but does not start is a failure, not a skip.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from backend_app import local_redis
from tests import llm_server
from tests.conftest import wait_for_workers
from tests.factories import PASSWORD, make_user
from tests.helpers import ROOT, start_gunicorn, wait_until

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.real_model)
            item.add_marker(pytest.mark.xdist_group("real_model"))


@pytest.fixture(scope="session")
def model_server(tmp_path_factory):
    """One real model server for the tier (the wheels missing: skip, saying which)."""
    reason = llm_server.unavailable()
    if reason:
        pytest.skip(reason)
    server = llm_server.RealModelServer(log_path=tmp_path_factory.mktemp("llm") / "server.log")
    server.start()
    yield server
    server.stop()


class Live:
    """The served app over real HTTP, signed in as one user; ``timings`` collects what each call took."""

    def __init__(self, base: str, model: str, request):
        self.base, self.model, self.http, self.request = base, model, requests.Session(), request

    def sign_in(self, user) -> None:
        response = self.http.post(f"{self.base}/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        self.http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def url(self, path_or_url: str) -> str:
        parts = urlsplit(path_or_url)
        if parts.netloc in ("", "localhost"):  # the app's own signed links
            return self.base + parts.path + (f"?{parts.query}" if parts.query else "")
        return path_or_url

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 280)
        return self.http.request(method, self.url(path), **kwargs)

    def timed(self, label: str, method: str, path: str, **kwargs) -> requests.Response:
        began = time.monotonic()
        response = self.call(method, path, **kwargs)
        self.note(f"{label}: {time.monotonic() - began:.1f} s (HTTP {response.status_code})")
        return response

    def note(self, line: str) -> None:
        """A line printed at the end of the run (the measured times)."""
        self.request.node.user_properties.append(("run summary", f"real model · {line}"))

    def upload(self, session_id: str, data: bytes, filename: str = "clip.mp4") -> str:
        ticket = self.call(
            "POST",
            "/api/v1/uploads/init",
            json={"filename": filename, "content_type": "video/mp4", "file_size": len(data), "session_id": session_id},
        )
        assert ticket.status_code == 201, ticket.text
        ticket = ticket.json()
        put = self.call(ticket["method"], ticket["upload_url"], data=data, headers=ticket["headers"])
        assert put.status_code in (200, 201), put.text[:300]
        done = self.call("POST", "/api/v1/uploads/complete", json={"analysis_id": ticket["analysis_id"]})
        assert done.status_code == 202, done.text
        return ticket["analysis_id"]

    def finished(self, analysis_id: str, timeout_s: float = 240) -> dict:
        def poll():
            body = self.call("GET", f"/api/v1/analyses/{analysis_id}").json()
            return body if body["status"] in ("completed", "failed", "canceled") else None

        return wait_until(poll, timeout_s=timeout_s, interval_s=0.5, message="the analysis to finish")


@pytest.fixture
def live(request, model_server, app, start_worker):  # the model first: without it, skip before any set-up
    """The app (gunicorn, one process, threaded for SSE) and one worker, AI_PROVIDER=openai on the
    real model server, signed in as an admin (who may force the v2 variant)."""
    app.config["SETTINGS"] = app.config["SETTINGS"].replace(
        ai_provider="openai",
        openai_base_url=model_server.base_url,
        openai_api_key="any-key",  # llama.cpp's server checks no key; the SDK needs one
        openai_model=model_server.model,  # the name the server reports on /v1/models
        openai_vision_model=model_server.model,
        max_parallel=model_server.options.slots,  # as many calls at once as the server has slots
        # The request's max_tokens overrides the server's n_predict, and this small model writes
        # until its context is full: 1,500 tokens took ~36 s a call here (47 s in a loaded CI),
        # three to six calls a batch. 400 is room for a valid answer and still ends as invalid.
        llm_max_tokens_json=400,
    )
    start_worker(1, wait=False)  # registers while gunicorn starts
    port = local_redis.free_port()
    proc = start_gunicorn(
        app, port, ["-c", str(ROOT / "gunicorn.conf.py")], {"GUNICORN_CMD_ARGS": "--workers 1 --threads 4"}
    )
    served = Live(f"http://127.0.0.1:{port}", model_server.model, request)
    try:
        wait_for_workers(app, 1)
        served.sign_in(make_user("admin"))
        yield served
    finally:
        proc.send_signal(signal.SIGQUIT)  # gunicorn's quick shutdown: the test is over
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
