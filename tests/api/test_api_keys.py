"""API keys: made once and shown once, listed, used by either header, scoped, limited, revoked, expired,
audited, and never a way into another user's data."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from backend_app.extensions import db
from backend_app.models import ApiKey, ApiKeyEvent
from backend_app.models.base import utcnow
from backend_app.services import ownership
from tests.factories import auth_headers, make_user


def _code(response) -> str:
    return response.get_json()["error"]["code"]


def _new_key(client, headers, scope="write", **extra) -> dict:
    response = client.post(
        "/api/v1/me/api-keys", json={"name": f"{scope} bot", "scope": scope, **extra}, headers=headers
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def owner(app, client):
    user = make_user()
    return {"user": user, "headers": auth_headers(client, user)}


def test_a_key_is_shown_once_stored_hashed_and_listed_without_it(app, client, owner):
    made = _new_key(client, owner["headers"], "read", expires_in_days=30)
    assert set(made) == {"id", "name", "scope", "key", "expires_at"}
    assert made["key"].startswith("fw_") and len(made["key"]) == 46 and made["scope"] == "read"
    row = db.session.get(ApiKey, made["id"])
    assert row.key_hash == hashlib.sha256(made["key"].encode()).hexdigest()
    assert made["key"] not in {str(v) for v in row.__dict__.values()}
    assert timedelta(days=29, hours=23) < row.expires_at - utcnow() <= timedelta(days=30)

    listed = client.get("/api/v1/me/api-keys", headers=owner["headers"]).get_json()["keys"]
    assert [k["id"] for k in listed] == [made["id"]]
    assert set(listed[0]) == {"id", "name", "scope", "prefix", "created_at", "last_used_at", "expires_at"}
    assert made["key"].startswith(listed[0]["prefix"]) and listed[0]["last_used_at"] is None
    assert made["key"] not in client.get("/api/v1/me/api-keys", headers=owner["headers"]).get_data(as_text=True)
    # The export carries the key rows but never the hash (nor, of course, the key).
    export = b"".join(ownership.export_stream(owner["user"].id))
    assert row.key_hash.encode() not in export and made["key"].encode() not in export


def test_a_key_works_in_either_header_and_records_its_use(app, client, owner):
    made = _new_key(client, owner["headers"])
    for headers in ({"X-API-Key": made["key"]}, {"Authorization": f"Bearer {made['key']}"}):
        me = client.get("/api/v1/auth/me", headers=headers)
        assert me.status_code == 200 and me.get_json()["id"] == owner["user"].id
    created = client.post("/api/v1/sessions", json={"name": "from a bot"}, headers={"X-API-Key": made["key"]})
    assert created.status_code == 201
    listed = client.get("/api/v1/me/api-keys", headers=owner["headers"]).get_json()["keys"]
    assert listed[0]["last_used_at"] is not None
    audit = client.get("/api/v1/me/api-keys/audit", headers=owner["headers"]).get_json()["events"]
    assert [(e["action"], e["method"], e["path"]) for e in audit] == [
        ("use", "POST", "/api/v1/sessions"),
        ("use", "GET", "/api/v1/auth/me"),
        ("use", "GET", "/api/v1/auth/me"),
        ("create", "POST", "/api/v1/me/api-keys"),
    ]


def test_unknown_revoked_and_expired_keys_are_refused_with_their_codes(app, client, owner):
    assert _code(client.get("/api/v1/auth/me", headers={"X-API-Key": "fw_" + "x" * 43})) == "API_KEY_INVALID"
    assert _code(client.get("/api/v1/auth/me", headers={"X-API-Key": "not-a-key"})) == "API_KEY_INVALID"

    revoked = _new_key(client, owner["headers"])
    assert client.delete(f"/api/v1/me/api-keys/{revoked['id']}", headers=owner["headers"]).status_code == 204
    answer = client.get("/api/v1/auth/me", headers={"X-API-Key": revoked["key"]})
    assert answer.status_code == 401 and _code(answer) == "API_KEY_REVOKED"
    assert revoked["id"] not in [
        k["id"] for k in client.get("/api/v1/me/api-keys", headers=owner["headers"]).get_json()["keys"]
    ]
    again = client.delete(f"/api/v1/me/api-keys/{revoked['id']}", headers=owner["headers"])
    assert again.status_code == 404 and _code(again) == "API_KEY_NOT_FOUND"

    expiring = _new_key(client, owner["headers"], expires_in_days=1)
    assert client.get("/api/v1/auth/me", headers={"X-API-Key": expiring["key"]}).status_code == 200
    db.session.execute(
        update(ApiKey).where(ApiKey.id == expiring["id"]).values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    answer = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {expiring['key']}"})
    assert answer.status_code == 401 and _code(answer) == "API_KEY_EXPIRED"
    refused = db.session.execute(select(ApiKeyEvent.code).where(ApiKeyEvent.action == "refuse")).scalars().all()
    assert sorted(refused) == ["API_KEY_EXPIRED", "API_KEY_REVOKED"]


def test_scopes_read_write_and_admin(app, client, owner):
    read = _new_key(client, owner["headers"], "read")["key"]
    write = _new_key(client, owner["headers"], "write")["key"]
    assert client.get("/api/v1/sessions", headers={"X-API-Key": read}).status_code == 200
    refused = client.post("/api/v1/sessions", json={"name": "no"}, headers={"X-API-Key": read})
    assert refused.status_code == 403 and _code(refused) == "INSUFFICIENT_SCOPE"
    assert refused.get_json()["error"]["details"] == {"scope": "read", "needed": "write"}
    assert client.post("/api/v1/sessions", json={"name": "yes"}, headers={"X-API-Key": write}).status_code == 201

    # A non-admin cannot make an admin key; an admin's write key does not reach admin endpoints.
    denied = client.post("/api/v1/me/api-keys", json={"name": "x", "scope": "admin"}, headers=owner["headers"])
    assert denied.status_code == 403 and _code(denied) == "ADMIN_REQUIRED"
    admin = make_user("admin")
    admin_headers = auth_headers(client, admin)
    admin_write = _new_key(client, admin_headers, "write")["key"]
    admin_key = _new_key(client, admin_headers, "admin")["key"]
    assert _code(client.get("/api/v1/flags", headers={"X-API-Key": admin_write})) == "INSUFFICIENT_SCOPE"
    assert client.get("/api/v1/flags", headers={"X-API-Key": admin_key}).status_code == 200
    # Demoted later: the admin key no longer reaches admin endpoints.
    from backend_app.services import accounts

    accounts.set_role_or_disabled(admin.id, role="user")
    assert _code(client.get("/api/v1/flags", headers={"X-API-Key": admin_key})) == "ADMIN_REQUIRED"


def test_a_key_cannot_make_keys_sign_out_or_refresh(app, client, owner):
    key = _new_key(client, owner["headers"])["key"]
    for method, path, body in (
        ("post", "/api/v1/me/api-keys", {"name": "child", "scope": "write"}),
        ("post", "/api/v1/auth/logout", None),
        ("post", "/api/v1/auth/logout-all", None),
        ("post", "/api/v1/auth/refresh", None),
    ):
        answer = getattr(client, method)(path, json=body, headers={"X-API-Key": key})
        assert answer.status_code == 403 and _code(answer) == "API_KEY_NOT_ALLOWED", path
    assert len(client.get("/api/v1/me/api-keys", headers=owner["headers"]).get_json()["keys"]) == 1


@pytest.mark.settings(api_key_rate_limit="3 per minute")
def test_each_key_is_rate_limited_on_its_own(app, client, owner):
    first = _new_key(client, owner["headers"])["key"]
    second = _new_key(client, owner["headers"])["key"]
    answers = [client.get("/api/v1/sessions", headers={"X-API-Key": first}) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert _code(answers[-1]) == "RATE_LIMITED" and 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    assert client.get("/api/v1/sessions", headers={"X-API-Key": second}).status_code == 200
    assert client.get("/api/v1/sessions", headers=owner["headers"]).status_code == 200  # sign-ins are not keys


def test_another_users_key_reaches_only_its_own_data(app, client, owner):
    session = client.post("/api/v1/sessions", json={"name": "A's"}, headers=owner["headers"]).get_json()
    mine = _new_key(client, owner["headers"])
    other = make_user()
    other_headers = auth_headers(client, other)
    theirs = _new_key(client, other_headers)
    assert client.get(f"/api/v1/sessions/{session['id']}", headers={"X-API-Key": mine["key"]}).status_code == 200
    answer = client.get(f"/api/v1/sessions/{session['id']}", headers={"X-API-Key": theirs["key"]})
    assert answer.status_code == 404 and _code(answer) == "SESSION_NOT_FOUND"
    assert client.get("/api/v1/sessions", headers={"X-API-Key": theirs["key"]}).get_json() == {"sessions": []}
    # B can neither see nor revoke A's key.
    assert mine["id"] not in client.get("/api/v1/me/api-keys", headers=other_headers).get_data(as_text=True)
    assert client.delete(f"/api/v1/me/api-keys/{mine['id']}", headers=other_headers).status_code == 404
    assert client.get("/api/v1/auth/me", headers={"X-API-Key": mine["key"]}).status_code == 200


def test_erasing_the_account_removes_its_keys(app, client, owner):
    key = _new_key(client, owner["headers"])["key"]
    assert client.get("/api/v1/auth/me", headers={"X-API-Key": key}).status_code == 200
    removed = ownership.erase_user(owner["user"].id)
    assert removed["rows.api_keys"] == 1 and removed["rows.api_key_events"] == 2
    assert _code(client.get("/api/v1/auth/me", headers={"X-API-Key": key})) == "API_KEY_INVALID"


def test_pages_ignore_keys_and_the_canary_sees_the_keys_user(app, client, owner):
    key = _new_key(client, owner["headers"])["key"]
    page = client.get("/sessions", headers={"X-API-Key": key})
    assert page.status_code in (302, 303) and "/login" in page.headers["Location"]
    answer = client.get("/api/runtime-config", headers={"X-API-Key": key})
    assert answer.status_code == 200 and answer.get_json()["variant"]["reason"] != "no user"
    assert answer.get_json()["settings"]["api_key_rate_limit"] == app.config["SETTINGS"].api_key_rate_limit


def test_bad_key_requests_are_coded(app, client, owner):
    for body, field in (
        ({"name": "", "scope": "read"}, "name"),
        ({"name": "x", "scope": "root"}, "scope"),
        ({"name": "x", "scope": "read", "expires_in_days": 0}, "expires_in_days"),
        ({"name": "x" * 101, "scope": "read"}, "name"),
    ):
        answer = client.post("/api/v1/me/api-keys", json=body, headers=owner["headers"])
        assert answer.status_code == 422 and field in answer.get_json()["error"]["details"]["fields"], body
    assert client.post("/api/v1/me/api-keys", json={"name": "x", "scope": "read"}).status_code == 401


def test_the_cli_makes_lists_and_revokes_keys(app, client, owner):
    runner = app.test_cli_runner()
    email = owner["user"].email
    made = runner.invoke(args=["users", "api-key-create", "--email", email, "--name", "cron", "--scope", "read"])
    assert made.exit_code == 0, made.output
    key_id = made.output.split("id: ")[1].split()[0]
    raw = made.output.split("key: ")[1].split()[0]
    assert client.get("/api/v1/auth/me", headers={"X-API-Key": raw}).status_code == 200
    listed = runner.invoke(args=["users", "api-keys", "--email", email])
    assert key_id in listed.output and "read" in listed.output and raw not in listed.output
    refused = runner.invoke(args=["users", "api-key-create", "--email", email, "--name", "x", "--scope", "admin"])
    assert refused.exit_code == 1 and "admin" in refused.output
    assert runner.invoke(args=["users", "api-key-revoke", "--email", email, "--id", key_id]).exit_code == 0
    assert _code(client.get("/api/v1/auth/me", headers={"X-API-Key": raw})) == "API_KEY_REVOKED"
    unknown = runner.invoke(args=["users", "api-keys", "--email", "nobody@example.test"])
    assert unknown.exit_code == 1 and "No account" in unknown.output
