"""Operator pins over HTTP: 409 FLAG_PINNED, "pinned by environment" in the API, the runtime
config, /health and the flags page; and the original rollback runbook against a real gunicorn."""

from __future__ import annotations

import os

import pytest
import requests

from backend_app.local_redis import free_port
from backend_app.services import flags
from tests.factories import FORM_CSRF, PASSWORD, auth_headers, make_user
from tests.helpers import start_gunicorn
from tests.web.conftest import PageClient, text

REQUIREMENT = {"requirementText": "The system shall be fast and user-friendly where possible."}


def _pin(app, **env) -> None:
    """This process as started with these variables (its next first flag read applies them)."""
    app.config["SETTINGS"] = app.config["SETTINGS"].replace(**env)
    app.extensions.pop("flags_cache", None)


@pytest.mark.sqlite_only
def test_a_pinned_flag_refuses_changes_and_says_so_everywhere(app, client):
    flags.set_flag("use_v2", enabled=True, rollout_percent=100, actor="admin-1")
    _pin(app, feature_flag_use_v2=False)
    headers = auth_headers(client, make_user("admin"))
    refused = client.put("/api/v1/flags/use_v2", headers=headers, json={"enabled": True, "rollout_percent": 50})
    error = refused.get_json()["error"]
    assert refused.status_code == 409 and error["code"] == "FLAG_PINNED" and "FEATURE_FLAG_USE_V2" in error["message"]
    assert not flags.get_flag("use_v2").enabled
    pin = [{"field": "enabled", "env": "FEATURE_FLAG_USE_V2", "value": False}]
    listed = client.get("/api/v1/flags", headers=headers).get_json()["flags"]
    assert next(f for f in listed if f["key"] == "use_v2")["pinned_by_environment"] == pin
    # The canary share is not pinned: it can still be changed.
    ok = client.put("/api/v1/flags/use_v2", headers=headers, json={"enabled": False, "rollout_percent": 30})
    assert ok.status_code == 200 and ok.get_json()["rollout_percent"] == 30
    config = client.get("/api/runtime-config", headers=auth_headers(client, make_user())).get_json()
    assert config["flags"]["use_v2"]["pinned_by_environment"] == pin
    assert config["variant"]["reason"] == "flag off (pinned by environment (FEATURE_FLAG_USE_V2=false))"
    health = client.get("/health").get_json()["checks"]["flags"]
    assert health["flags"]["use_v2"]["pinned_by_environment"] == pin
    assert health["pinned"] == {"use_v2": "pinned by environment (FEATURE_FLAG_USE_V2=false)"}
    _pin(app, feature_flag_use_v2=None)
    unpinned = client.get("/api/v1/flags/use_v2", headers=headers).get_json()
    assert unpinned["pinned_by_environment"] == []
    assert client.put("/api/v1/flags/use_v2", headers=headers, json={"enabled": True}).status_code == 200


@pytest.mark.sqlite_only
def test_the_flags_page_shows_the_pin_and_refuses_a_change(app):
    _pin(app, canary_percent=0)
    admin_page = PageClient(app.test_client(), make_user("admin"))
    body = text(admin_page.get("/admin/flags"))
    assert 'data-testid="flag-pinned"' in body and "pinned by environment" in body and "CANARY_PERCENT=0" in body
    assert 'data-testid="canary-slider" data-shows-value disabled' in body
    refused = admin_page.post("/admin/flags/use_v2", data={"enabled": "on", "rollout_percent": "50"}, htmx=True)
    assert refused.status_code == 409 and "CANARY_PERCENT" in text(refused)
    # The form as rendered (the slider disabled, its pinned value sent) still saves the other field.
    saved = admin_page.post("/admin/flags/use_v2", data={"enabled": "on", "rollout_percent": "0"}, htmx=True)
    assert saved.status_code == 200 and flags.get_flag("use_v2").enabled


def _page_session(base: str, email: str) -> requests.Session:
    session = requests.Session()
    token = FORM_CSRF.search(session.get(f"{base}/login", timeout=10).text).group(1)
    signed_in = session.post(
        f"{base}/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token},
        timeout=10,
        allow_redirects=False,
    )
    assert signed_in.status_code == 303
    return session


@pytest.mark.sqlite_only
@pytest.mark.parametrize("env", [{"FEATURE_FLAG_USE_V2": "false"}, {"CANARY_PERCENT": "0"}])
def test_rollback_runbook_set_the_variable_and_restart(app, client, env):
    """The original runbook: v2 serves everybody; set FEATURE_FLAG_USE_V2=false (or CANARY_PERCENT=0),
    restart the server; every requirements response says X-Variant: v1, the flags page shows the pin."""
    flags.set_flag("use_v2", enabled=True, rollout_percent=100, actor="admin-1")
    users = [auth_headers(client, make_user()) for _ in range(6)]
    admin = make_user("admin")
    (variable,) = env
    port = free_port()
    proc = start_gunicorn(app, port, ["--workers", "2", "--threads", "2", "--worker-class", "gthread"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        seen = set()
        for _ in range(3):  # more requests than workers: every process answers
            for headers in users:
                for path in ("/api/v1/evaluations", "/api/v1/suggestions", "/api/v1/rewrites"):
                    res = requests.post(f"{base}{path}", headers=headers, json=REQUIREMENT, timeout=30)
                    assert res.status_code == 200 and res.json()["variant"] == "v1"
                    seen.add((res.headers["X-Variant"], "pinned by environment" in res.headers["X-Variant-Reason"]))
        assert seen == {("v1", True)}
        page = _page_session(base, admin.email).get(f"{base}/admin/flags", timeout=10).text
        assert 'data-testid="flag-pinned"' in page and f"{variable}={env[variable]}" in page
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
    stored = flags.get_flag("use_v2")
    assert (stored.enabled, stored.rollout_percent) == (
        (False, 100) if variable == "FEATURE_FLAG_USE_V2" else (True, 0)
    )
    pins = [a for a in flags.audit_log("use_v2") if a.action == "pin"]
    assert len(pins) == 1 and pins[0].actor == "environment"  # two workers started, one audit entry
