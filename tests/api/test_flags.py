"""Flags API, X-Variant on every response, admin force, runtime config, the guard end to end,
the CLI, and propagation across gunicorn workers after a rollback."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import pytest
import requests
from flask import Blueprint, jsonify

from backend_app.local_redis import free_port
from backend_app.services import flags
from backend_app.services.flags import bucketing
from backend_app.variant import current_variant, report_v2_failure
from tests.factories import auth_headers, make_user, page_login
from tests.helpers import start_gunicorn

# Test-only routes with a v2 code path (registered by the tests that need them, never shipped).
canary_probe = Blueprint("canary_probe", __name__)


@canary_probe.get("/test-canary/fallback")
def _fallback():
    if current_variant() == "v2":
        report_v2_failure()  # v2 failed and the request fell back to v1
    return jsonify({"variant": current_variant()})


@canary_probe.get("/test-canary/boom")
def _boom():
    if current_variant() == "v2":
        raise RuntimeError("v2 is broken")
    return jsonify({"variant": "v1"})


def _admin(client):
    admin = make_user("admin")
    return admin, auth_headers(client, admin)


def test_flags_are_admin_only(client):
    user = make_user()
    headers = auth_headers(client, user)
    assert client.get("/api/v1/flags").status_code == 401
    for method, url, body in [
        ("get", "/api/v1/flags", None),
        ("get", "/api/v1/flags/use_v2", None),
        ("put", "/api/v1/flags/use_v2", {"enabled": True, "rollout_percent": 100}),
        ("post", "/api/v1/flags/use_v2/rollback", {"reason": "x"}),
        ("get", "/api/v1/flags/use_v2/audit", None),
    ]:
        response = getattr(client, method)(url, json=body, headers=headers)
        assert response.status_code == 403, (method, url)
        assert response.get_json()["error"]["code"] == "ADMIN_REQUIRED"
    assert not flags.get_flag("use_v2").enabled


def test_admin_changes_rolls_back_and_reads_the_audit(client):
    admin, headers = _admin(client)
    listed = client.get("/api/v1/flags", headers=headers).get_json()
    assert [f["key"] for f in listed["flags"]] == ["use_v2"]
    assert listed["guard"]["tripped"] is False and listed["guard"]["window"] == {"samples": 0, "errors": 0}
    put = client.put(
        "/api/v1/flags/use_v2",
        headers=headers,
        json={"enabled": True, "rollout_percent": 25, "reason": "start the canary"},
    )
    assert put.status_code == 200
    assert put.get_json() | {"updated_at": None} == {
        "key": "use_v2",
        "enabled": True,
        "rollout_percent": 25,
        "updated_by": admin.id,
        "changed": True,
        "rolled_back": False,
        "pinned_by_environment": [],
        "description": put.get_json()["description"],
        "updated_at": None,
    }
    created = client.put(
        "/api/v1/flags/new_chat",
        headers=headers,
        json={"enabled": False, "rollout_percent": 0, "description": "new chat engine"},
    )
    assert created.status_code == 200 and created.get_json()["description"] == "new chat engine"
    back = client.post("/api/v1/flags/use_v2/rollback", headers=headers, json={"reason": "p95 doubled"})
    assert back.status_code == 200
    assert back.get_json()["enabled"] is False and back.get_json()["rolled_back"] is True
    assert back.get_json()["rollout_percent"] == 25
    again = client.post("/api/v1/flags/use_v2/rollback", headers=headers, json={"reason": "again"})
    assert again.get_json()["changed"] is False
    audit = client.get("/api/v1/flags/use_v2/audit", headers=headers).get_json()["audit"]
    assert [(a["actor"], a["action"], a["reason"]) for a in audit] == [
        (admin.id, "rollback", "p95 doubled"),
        (admin.id, "update", "start the canary"),
        ("seed", "seed", audit[-1]["reason"]),
    ]
    assert audit[0]["before"]["enabled"] is True and audit[0]["after"]["enabled"] is False
    # Turned back on without a percentage, it keeps its own: the same canary as before the rollback.
    on = client.put("/api/v1/flags/use_v2", headers=headers, json={"enabled": True, "reason": "fixed"})
    assert on.status_code == 200 and (on.get_json()["enabled"], on.get_json()["rollout_percent"]) == (True, 25)
    new = client.put("/api/v1/flags/brand_new", headers=headers, json={"enabled": True})
    assert new.status_code == 422 and "rollout_percent" in new.get_json()["error"]["details"]["fields"]


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    "body,field",
    [
        ({"enabled": True, "rollout_percent": 101}, "rollout_percent"),
        ({"enabled": True, "rollout_percent": -1}, "rollout_percent"),
        ({"enabled": True, "rollout_percent": "50"}, "rollout_percent"),
        ({"enabled": True, "rollout_percent": 12.5}, "rollout_percent"),
        ({"enabled": "yes", "rollout_percent": 50}, "enabled"),
        ({"rollout_percent": 50}, "enabled"),
        ({"enabled": True, "rollout_percent": 5, "reason": "x" * 501}, "reason"),
    ],
)
def test_invalid_changes_are_refused_with_a_code(client, body, field):
    _, headers = _admin(client)
    response = client.put("/api/v1/flags/use_v2", headers=headers, json=body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "FLAG_INVALID" and field in error["details"]["fields"]


@pytest.mark.sqlite_only
def test_other_mistakes_are_coded(client):
    _, headers = _admin(client)
    assert (
        client.put("/api/v1/flags/Bad Key!", headers=headers, json={"enabled": True, "rollout_percent": 1}).get_json()[
            "error"
        ]["code"]
        == "FLAG_KEY_INVALID"
    )
    assert client.put("/api/v1/flags/use_v2", headers=headers, data="x").status_code == 415
    missing = client.post("/api/v1/flags/nope/rollback", headers=headers, json={"reason": "x"})
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "FLAG_NOT_FOUND"
    assert client.get("/api/v1/flags/nope/audit", headers=headers).status_code == 404
    no_reason = client.post("/api/v1/flags/use_v2/rollback", headers=headers, json={})
    assert no_reason.status_code == 422


def _variant(response) -> tuple[str, str]:
    return response.headers.get("X-Variant"), response.headers.get("X-Variant-Reason")


@pytest.mark.sqlite_only
def test_every_response_carries_the_variant(client):
    flags.set_flag("use_v2", enabled=True, rollout_percent=100, actor="t")
    user = make_user()
    headers = auth_headers(client, user)
    n = bucketing.bucket("use_v2", user.id)
    assert _variant(client.get("/api/v1/auth/me", headers=headers)) == ("v2", f"in canary (bucket {n} <= 100)")
    anonymous = [
        client.get("/ping"),
        client.get("/health"),
        client.get("/metrics"),
        client.get("/nowhere"),
        client.delete("/ping"),
        client.get("/api/v1/auth/me"),
        client.get("/login"),
        client.post("/api/v1/auth/login", data="{", content_type="application/json"),
        client.get("/ping", headers={"Authorization": "Bearer not-a-token"}),
        client.get("/api/v1/auth/me", headers={"Authorization": "Bearer not-a-token"}),
    ]
    for response in anonymous:
        assert _variant(response) == ("v1", "no user"), response.request.path
    signed_in = [
        client.get("/api/v1/nowhere", headers=headers),
        client.get("/ping", headers=headers),
        client.put("/api/v1/flags/use_v2", headers=headers, json={}),
    ]
    for response in signed_in:
        assert _variant(response)[0] == "v2", response.request.path
    # Pages read the identity from the cookies the sign-in form sets.
    pages = client.application.test_client()
    assert page_login(pages, user.email).status_code == 303
    assert _variant(pages.get("/sessions"))[0] == "v2"
    pages.set_cookie("access_token_cookie", "stale")  # unusable: the refresh cookie still says who it is
    assert _variant(pages.get("/ping"))[0] == "v2"
    flags.set_flag("use_v2", enabled=True, rollout_percent=0, actor="t")
    assert _variant(pages.get("/sessions")) == ("v1", f"out of canary (bucket {n} > 0)")


@pytest.mark.sqlite_only
def test_variant_is_counted_per_route_and_status(client):
    flags.set_flag("use_v2", enabled=True, rollout_percent=100, actor="t")
    headers = auth_headers(client, make_user())
    client.get("/api/v1/auth/me", headers=headers)
    client.get("/api/v1/sessions/nope", headers=headers)
    client.get("/ping")
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'endpoint="/api/v1/auth/me",method="GET",status="200",variant="v2"' in metrics
    assert 'endpoint="/api/v1/sessions/<session_id>",method="GET",status="404",variant="v2"' in metrics
    assert 'endpoint="/ping",method="GET",status="200",variant="v1"' in metrics


@pytest.mark.sqlite_only
def test_admins_may_force_their_own_variant_and_nobody_else(client):
    _, admin_headers = _admin(client)
    user_headers = auth_headers(client, make_user())
    assert _variant(client.get("/ping", headers={**admin_headers, "X-Force-Variant": "v2"})) == (
        "v2",
        "forced by admin",
    )
    assert _variant(client.get("/ping", headers={**user_headers, "X-Force-Variant": "v2"})) == ("v1", "flag off")
    assert _variant(client.get("/ping", headers={"X-Force-Variant": "v2"})) == ("v1", "no user")
    flags.set_flag("use_v2", enabled=True, rollout_percent=100, actor="t")
    assert _variant(client.get("/ping", headers={**admin_headers, "X-Force-Variant": "v1"})) == (
        "v1",
        "forced by admin",
    )
    assert _variant(client.get("/ping", headers={**user_headers, "X-Force-Variant": "v1"}))[0] == "v2"


@pytest.mark.sqlite_only
def test_runtime_config_for_signed_in_users(client):
    assert client.get("/api/runtime-config").status_code == 401
    headers = auth_headers(client, make_user())
    body = client.get("/api/runtime-config", headers=headers).get_json()
    assert body["flags"]["use_v2"] == {"enabled": False, "rollout_percent": 0, "pinned_by_environment": []}
    assert body["variant"] == {"variant": "v1", "reason": "flag off"}
    assert body["settings"]["guard_error_rate"] == 0.2
    assert not {"secret_key", "jwt_secret_key", "openai_api_key", "database_url"} & set(body["settings"])
    assert body["settings"]["max_upload_bytes"] > 0
    assert not {"admin_email", "data_dir", "sqlite_path", "s3_endpoint_url", "openai_base_url"} & set(body["settings"])
    admin_view = client.get("/api/runtime-config", headers=auth_headers(client, make_user("admin"))).get_json()
    assert {"admin_email", "data_dir", "openai_base_url"} <= set(admin_view["settings"])
    assert not {"secret_key", "openai_api_key", "database_url"} & set(admin_view["settings"])


@pytest.mark.settings(guard_min_samples=10, guard_error_rate=0.2, guard_window_s=120)
def test_guard_rolls_back_on_v2_server_errors(app, client):
    app.register_blueprint(canary_probe)
    flags.set_flag("use_v2", enabled=True, rollout_percent=100, actor="t")
    admin, headers = _admin(client)
    for _ in range(20):
        assert _variant(client.get("/api/v1/auth/me", headers=headers))[0] == "v2"
    for attempt in range(1, 7):  # 6/26 = 23% > 20% trips it; 5/25 = 20% does not
        response = client.get("/test-canary/boom", headers=headers)
        assert (response.status_code, _variant(response)[0]) == (500, "v2"), attempt
    after = client.get("/test-canary/boom", headers=headers)
    assert after.status_code == 200 and _variant(after) == ("v1", "rolled back")
    listed = client.get("/api/v1/flags", headers=headers).get_json()
    assert listed["flags"][0]["enabled"] is False and listed["guard"]["tripped"] is True
    assert "6/26" in listed["guard"]["reason"] and listed["guard"]["tripped_at"]
    audit = flags.audit_log("use_v2")[0]
    assert (audit.actor, audit.action, audit.before["enabled"], audit.after["enabled"]) == (
        "guard",
        "guard",
        True,
        False,
    )
    assert 'framewise_flag_changes_total{action="guard",flag="use_v2"}' in client.get("/metrics").get_data(as_text=True)


@pytest.mark.sqlite_only
@pytest.mark.settings(guard_min_samples=5, guard_error_rate=0.5, guard_window_s=60)
def test_guard_counts_v2_fallbacks_reported_by_code_paths(app, client):
    app.register_blueprint(canary_probe)
    flags.set_flag("use_v2", enabled=True, rollout_percent=100, actor="t")
    headers = auth_headers(client, make_user())
    served = [_variant(client.get("/test-canary/fallback", headers=headers))[0] for _ in range(6)]
    assert served == ["v2"] * 5 + ["v1"]  # the 5th sample (5/5 failed) tripped the guard
    assert flags.audit_log("use_v2")[0].actor == "guard"
    assert client.get("/api/runtime-config", headers=headers).get_json()["guard"]["flag"] == "use_v2"


@pytest.mark.sqlite_only
def test_cli_lists_sets_and_rolls_back(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["flags", "set", "use_v2", "--enabled", "--percent", "20", "--reason", "go"])
    assert result.exit_code == 0 and json.loads(result.output)["rollout_percent"] == 20
    assert "use_v2" in runner.invoke(args=["flags", "list"]).output
    result = runner.invoke(args=["flags", "rollback", "use_v2", "--reason", "bad"])
    assert result.exit_code == 0 and json.loads(result.output)["enabled"] is False
    lines = runner.invoke(args=["flags", "audit", "use_v2"]).output.splitlines()
    assert [json.loads(line)["action"] for line in lines] == ["rollback", "update", "seed"]
    bad = runner.invoke(args=["flags", "set", "Bad Key", "--enabled", "--percent", "1"])
    assert bad.exit_code == 1 and "FLAG_KEY_INVALID" in bad.output


# --- propagation across gunicorn workers ---------------------------------------------------


def _start_gunicorn(app, port: int) -> subprocess.Popen:
    threads = ["--workers", "3", "--threads", "4", "--worker-class", "gthread", "--access-logfile", "/dev/null"]
    return start_gunicorn(app, port, threads)


def _hammer(url: str, headers: dict, stop_at: float, samples: list, max_requests: int = 600) -> None:
    with requests.Session() as session:
        for _ in range(max_requests):
            started = time.monotonic()
            if started >= stop_at:
                return
            response = session.get(url, headers=headers, timeout=10)
            samples.append(
                (
                    started,
                    response.status_code,
                    response.headers.get("X-Variant"),
                    response.headers.get("X-Variant-Reason"),
                )
            )


@pytest.mark.sqlite_only
def test_rollback_reaches_every_gunicorn_worker_within_one_second(app, client):
    flags.set_flag("use_v2", enabled=True, rollout_percent=100, actor="t")
    user_headers = auth_headers(client, make_user())
    _, admin_headers = _admin(client)
    port = free_port()
    proc = _start_gunicorn(app, port)
    base = f"http://127.0.0.1:{port}"
    try:
        warm = [requests.get(f"{base}/api/v1/auth/me", headers=user_headers, timeout=10) for _ in range(12)]
        assert {r.headers["X-Variant"] for r in warm} == {"v2"}
        samples: list = []
        stop_at = time.monotonic() + 3.5
        threads = [
            threading.Thread(target=_hammer, args=(f"{base}/api/v1/auth/me", user_headers, stop_at, samples))
            for _ in range(6)
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.8)
        sent_at = time.monotonic()
        rolled = requests.post(
            f"{base}/api/v1/flags/use_v2/rollback",
            headers=admin_headers,
            json={"reason": "propagation test"},
            timeout=10,
        )
        rolled_at = time.monotonic()
        assert rolled.status_code == 200 and rolled.json()["changed"] is True
        for thread in threads:
            thread.join(timeout=30)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
    assert all(status == 200 for _, status, _, _ in samples)
    assert any(variant == "v2" for started, _, variant, _ in samples if started < sent_at)
    late = [s for s in samples if s[0] > rolled_at + 1.0]
    assert len(late) >= 20, f"only {len(late)} requests after the one-second mark"
    assert all((variant, reason) == ("v1", "rolled back") for _, _, variant, reason in late), [
        s for s in late if s[2] != "v1"
    ][:5]


@pytest.mark.sqlite_only
def test_an_integral_percentage_is_an_integer(client):
    """rollout_percent is a JSON Schema integer in the OpenAPI document, and 30.0 is one."""
    _, headers = _admin(client)
    created = client.put("/api/v1/flags/new-flag", headers=headers, json={"enabled": True, "rollout_percent": 0})
    assert created.status_code == 200, created.get_json()
    changed = client.put("/api/v1/flags/new-flag", headers=headers, json={"enabled": True, "rollout_percent": 30.0})
    assert changed.status_code == 200 and changed.get_json()["rollout_percent"] == 30
    assert isinstance(flags.get_flag("new-flag").rollout_percent, int)
