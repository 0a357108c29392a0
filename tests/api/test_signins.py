"""Sign-ins as token families: refresh rotates, a replay ends the family, logout and sign out
everywhere end refresh tokens too (issue 26)."""

from __future__ import annotations

import pytest
from flask_jwt_extended import decode_token

from backend_app.extensions import redis_store
from tests.factories import login, make_user


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refresh(client, token: str):
    return client.post("/api/v1/auth/refresh", headers=bearer(token))


def code(response) -> str:
    return response.get_json()["error"]["code"]


def test_refresh_rotates_and_the_used_token_is_spent(client):
    user = make_user()
    first = login(client, user.email)
    r = refresh(client, first["refresh_token"])
    assert r.status_code == 200
    second = r.get_json()
    assert second["refresh_token"] != first["refresh_token"] and second["access_token"] != first["access_token"]
    new_claims, old_claims = decode_token(second["refresh_token"]), decode_token(first["refresh_token"])
    assert new_claims["sub"] == user.id and new_claims["fam"] == old_claims["fam"]
    assert decode_token(second["access_token"])["fam"] == old_claims["fam"]
    assert client.get("/api/v1/auth/me", headers=bearer(second["access_token"])).status_code == 200
    third = refresh(client, second["refresh_token"])  # the new one rotates again
    assert third.status_code == 200


def test_replaying_a_used_refresh_token_ends_the_whole_family(client):
    user = make_user()
    first = login(client, user.email)
    elsewhere = login(client, user.email)  # another device: another family
    second = refresh(client, first["refresh_token"]).get_json()

    replay = refresh(client, first["refresh_token"])
    assert replay.status_code == 401 and code(replay) == "TOKEN_REUSED"
    # Every token descended from that sign-in is dead: the rotated refresh token and both access tokens.
    r = refresh(client, second["refresh_token"])
    assert r.status_code == 401 and code(r) == "TOKEN_REVOKED"
    for access in (first["access_token"], second["access_token"]):
        r = client.get("/api/v1/auth/me", headers=bearer(access))
        assert r.status_code == 401 and code(r) == "TOKEN_REVOKED"
    # The other device's sign-in is untouched.
    assert client.get("/api/v1/auth/me", headers=bearer(elsewhere["access_token"])).status_code == 200
    assert refresh(client, elsewhere["refresh_token"]).status_code == 200


def test_logout_with_the_access_token_alone_ends_the_refresh_token_too(client):
    user = make_user()
    tokens = login(client, user.email)
    r = client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]))
    assert r.status_code == 200 and r.get_json()["revoked"] == ["access", "refresh"]
    r = refresh(client, tokens["refresh_token"])
    assert r.status_code == 401 and code(r) == "TOKEN_REVOKED"


def test_sign_out_everywhere_ends_every_sign_in_of_the_user_only(client):
    user, other = make_user(), make_user()
    laptop, phone = login(client, user.email), login(client, user.email)
    phone = {**phone, **refresh(client, phone["refresh_token"]).get_json()}  # a rotated family counts once
    bystander = login(client, other.email)

    r = client.post("/api/v1/auth/logout-all", headers=bearer(laptop["access_token"]))
    assert r.status_code == 200 and r.get_json() == {"signed_out": 2}
    for device in (laptop, phone):
        assert client.get("/api/v1/auth/me", headers=bearer(device["access_token"])).status_code == 401
        assert code(refresh(client, device["refresh_token"])) == "TOKEN_REVOKED"
    assert client.get("/api/v1/auth/me", headers=bearer(bystander["access_token"])).status_code == 200
    assert refresh(client, bystander["refresh_token"]).status_code == 200
    again = login(client, user.email)  # signing in afterwards works
    assert client.get("/api/v1/auth/me", headers=bearer(again["access_token"])).status_code == 200


def test_sign_out_everywhere_needs_a_sign_in(client):
    r = client.post("/api/v1/auth/logout-all")
    assert r.status_code == 401 and code(r) == "AUTH_REQUIRED"


def test_sign_out_everywhere_is_documented(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/auth/logout-all"]["post"]
    assert "everywhere" in operation["summary"].lower()


@pytest.mark.sqlite_only
def test_an_authenticated_request_costs_one_redis_call(client, app):
    """The family check replaces the revocation list's EXISTS: still one round trip per request."""
    tokens = login(client, make_user().email)
    headers = bearer(tokens["access_token"])
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200  # warm: flags, canary

    def calls() -> int:  # the lookups a token check could make (other Redis use, e.g. flags, is beside the point)
        stats = redis_store.conn.info("commandstats")
        return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("hmget", "hget", "exists", "get"))

    before = calls()
    for _ in range(10):
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    assert calls() - before <= 10


def test_a_redis_that_lost_its_data_signs_nobody_out(client):
    """A Redis restarted empty (no persistence) forgets the families: their unexpired tokens are
    accepted and the next rotation records the family again, with reuse detection from then on."""
    tokens = login(client, make_user().email)
    redis_store.conn.flushdb()
    assert client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"])).status_code == 200
    rotated = refresh(client, tokens["refresh_token"])
    assert rotated.status_code == 200
    assert code(refresh(client, tokens["refresh_token"])) == "TOKEN_REUSED"
    assert code(refresh(client, rotated.get_json()["refresh_token"])) == "TOKEN_REVOKED"


def test_a_down_redis_is_asked_once_per_request(app, caplog):
    """The canary and the view both check the token: with Redis down, the request waits for
    one failed lookup and logs one warning, and the answers stay fail-open / fail-closed."""
    from redis import Redis

    from backend_app.services import signins

    user = make_user()
    with app.test_request_context():
        tokens = signins.start(user.id, user.role)
    access, refresh_claims = decode_token(tokens["access_token"]), decode_token(tokens["refresh_token"])
    app.extensions["redis"] = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    with caplog.at_level("WARNING", logger="backend_app.services.signins"):
        with app.test_request_context():
            assert [signins.refusal(access) for _ in range(2)] == [None, None]
        with app.test_request_context():
            assert [signins.refusal(refresh_claims) for _ in range(2)] == ["TOKEN_REVOKED"] * 2
        with app.test_request_context():
            legacy = {**access, "fam": None}
            assert [signins.refusal(legacy) for _ in range(2)] == [None, None]
    warnings = [r for r in caplog.records if r.getMessage() == "sign-in families unreachable"]
    assert len(warnings) == 3, [r.getMessage() for r in caplog.records]
