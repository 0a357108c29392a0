"""No request input produces a 500; every /api/ error has the one shape."""

import pytest

from tests.factories import auth_headers, make_user


def assert_error(response, status: int, code: str | None = None):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code


def test_404_and_405(client):
    assert_error(client.get("/api/v1/nope"), 404, "NOT_FOUND")
    r = client.put("/api/v1/auth/login")
    assert_error(r, 405, "METHOD_NOT_ALLOWED")
    assert "POST" in r.get_json()["error"]["details"]["allowed"]


def test_malformed_json(client):
    r = client.post("/api/v1/auth/login", data="{not json", content_type="application/json")
    assert_error(r, 400, "MALFORMED_JSON")
    r = client.post("/api/v1/auth/login", data="[1, 2]", content_type="application/json")
    assert_error(r, 400, "MALFORMED_JSON")
    r = client.post("/api/v1/auth/login", data="email=a", content_type="application/x-www-form-urlencoded")
    assert_error(r, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_wrong_types_and_missing_fields(client):
    r = client.post("/api/v1/auth/login", json={"email": 5, "password": ["x"]})
    assert_error(r, 422, "VALIDATION_ERROR")
    assert set(r.get_json()["error"]["details"]["fields"]) == {"email", "password"}
    r = client.post("/api/v1/auth/login", json={})
    assert_error(r, 422, "VALIDATION_ERROR")


@pytest.mark.settings(max_json_bytes=2048)
def test_oversized_body_is_413(client):
    h = auth_headers(client, make_user())
    r = client.post("/api/v1/sessions", json={"name": "x" * 5000}, headers=h)
    assert_error(r, 413, "PAYLOAD_TOO_LARGE")


def test_bad_query_parameter(client, app):
    admin = make_user(role="admin")
    h = auth_headers(client, admin)
    assert_error(client.get("/api/v1/admin/jobs?limit=abc", headers=h), 422, "VALIDATION_ERROR")
    assert_error(client.get("/api/v1/admin/jobs?status=bogus", headers=h), 422, "VALIDATION_ERROR")


def test_non_admin_gets_403_on_admin_routes(client):
    h = auth_headers(client, make_user())
    assert_error(client.get("/api/v1/admin/jobs", headers=h), 403, "ADMIN_REQUIRED")


@pytest.mark.sqlite_only
def test_fuzzed_bodies_never_500(client):
    """Random junk to every documented POST/PUT/DELETE route: coded 4xx, never 5xx."""
    import random

    from backend_app.api.openapi import build_spec

    h = auth_headers(client, make_user())
    rng = random.Random(7)
    junk = [
        b"",
        b"null",
        b"{",
        b"[]",
        b'{"a": 1}',
        b'"str"',
        b"\xff\xfe",
        b'{"name": null}',
        b'{"email": {}, "password": []}',
        bytes(rng.randrange(256) for _ in range(64)),
    ]
    spec = build_spec()
    for path, ops in spec["paths"].items():
        concrete = path.replace("{", "").replace("}", "")
        for method in ops:
            if method == "get":
                continue
            for body in junk:
                r = client.open(concrete, method=method.upper(), data=body, headers=h, content_type="application/json")
                assert r.status_code < 500, (method, path, body, r.get_data(as_text=True))


UNSTORABLE = {  # JSON escapes that parse but no database, hash or Redis can take
    "email": "\ud800@example.test",
    "password": "\ud800" * 12,
    "name": "a\u0000b",
    "requirementText": "\ud800",
    "message": "hello \u0000",
    "session_id": "\u0000",
    "analysis_id": "\ud800",
    "filename": "a\u0000.mp4",
    "refresh_token": "\ud800",
    "reason": "\u0000",
    "description": "\ud800",
    "criteriaKeys": [["clarity"]],
    "markdown": "| id | requirementText |\n|---|---|\n| R\u00001 | The pump shall stop. |",
    "context": {"\ud800": 1},
    "content_type": "video/mp4",
    "file_size": 1e400,
}


def test_unstorable_text_deep_nesting_and_nul_in_urls_never_500(client):
    """Every documented route, as an admin, on SQLite and PostgreSQL (which refuses NUL in text)."""
    import json

    from backend_app.api.openapi import build_spec

    h = auth_headers(client, make_user("admin"))
    bodies = [json.dumps(UNSTORABLE), "[" * 5000 + "]" * 5000, '{"a": ' + "[" * 5000 + "]" * 5000 + "}"]
    routes = [(path, method) for path, ops in build_spec()["paths"].items() for method in ops]
    ends_sign_in = {("/api/v1/auth/logout", "post"), ("/api/v1/me", "delete")}
    for path, method in sorted(routes, key=lambda route: route in ends_sign_in):  # those two last
        concrete = path.replace("{", "").replace("}", "")
        if method != "get":
            for body in bodies:
                r = client.open(concrete, method=method.upper(), data=body, headers=h, content_type="application/json")
                assert r.status_code < 500, (method, path, body[:40], r.get_data(as_text=True))
            continue
        r = client.get(concrete + "?session_id=%00&status=%00", headers=h)
        assert r.status_code < 500, (path, r.get_data(as_text=True))
        if "{" in path:
            r = client.get(path.split("{")[0] + "%00", headers=h)
            assert r.status_code == 404, (path, r.get_data(as_text=True))

    h = auth_headers(client, make_user())
    r = client.post("/api/v1/sessions", json={"name": "a\u0000b"}, headers=h)
    assert_error(r, 422, "VALIDATION_ERROR")
    assert r.get_json()["error"]["details"]["fields"] == {"name": "contains a NUL character or an unpaired surrogate"}
    r = client.post("/api/v1/auth/login", data="[" * 5000 + "]" * 5000, content_type="application/json")
    assert_error(r, 400, "MALFORMED_JSON")
    assert_error(client.get("/api/v1/analyses?session_id=a%00b", headers=h), 422, "VALIDATION_ERROR")


@pytest.mark.sqlite_only
@pytest.mark.parametrize("minutes", ["NaN", "Infinity", "-Infinity", "1e400", "1e10", "-1"])
def test_requeue_stale_refuses_ages_that_are_no_age(client, minutes):
    h = auth_headers(client, make_user("admin"))
    r = client.post(
        "/api/v1/admin/jobs/requeue-stale",
        data=f'{{"max_age_minutes": {minutes}}}',
        headers=h,
        content_type="application/json",
    )
    assert_error(r, 422, "VALIDATION_ERROR")
    assert "max_age_minutes" in r.get_json()["error"]["details"]["fields"]


@pytest.mark.sqlite_only
def test_batch_options_of_the_wrong_type_are_coded_422(client):
    h = auth_headers(client, make_user())
    table = "| id | requirementText |\n|---|---|\n| R1 | The pump shall stop. |"
    for options, field in [
        ({"criteriaKeys": [["clarity"]]}, "criteriaKeys"),
        ({"criteriaKeys": [None]}, "criteriaKeys"),
        ({"session_id": ["x"]}, "session_id"),
        ({"session_id": 10**30}, "session_id"),
    ]:
        r = client.post("/api/v1/batch/evaluate", json={"markdown": table, **options}, headers=h)
        assert_error(r, 422, "VALIDATION_ERROR")
        assert field in r.get_json()["error"]["details"]["fields"]


def test_an_integral_number_is_an_integer(client):
    """JSON Schema counts 2.0 as an integer, so the OpenAPI document's integer fields take it."""
    h = auth_headers(client, make_user())
    session = client.post("/api/v1/sessions", json={"name": "clips"}, headers=h).get_json()["id"]
    body = {"filename": "a.mp4", "content_type": "video/mp4", "session_id": session}
    declared = client.post("/api/v1/uploads/init", json={**body, "file_size": 2048.0}, headers=h)
    assert declared.status_code == 201, declared.get_json()
    assert (
        client.get(f"/api/v1/uploads/status/{declared.get_json()['analysis_id']}", headers=h).get_json()[
            "declared_size"
        ]
        == 2048
    )
    assert_error(client.post("/api/v1/uploads/init", json={**body, "file_size": 2048.5}, headers=h), 422)
