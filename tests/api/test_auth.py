import pytest
from flask_jwt_extended import decode_token

from backend_app.errors import ValidationError
from backend_app.services import accounts
from tests.factories import PASSWORD, auth_headers, login, make_user


def test_register_login_me(client):
    r = client.post("/api/v1/auth/register", json={"email": "Ann@Example.test", "password": PASSWORD})
    assert r.status_code == 201
    assert r.get_json()["email"] == "ann@example.test"
    assert "password_hash" not in r.get_json()
    tokens = login(client, "ann@example.test")
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert set(me.get_json()) >= {"id", "email", "role"} and me.get_json()["role"] == "user"


def test_password_is_hashed_with_scrypt(app):
    user = make_user()
    assert user.password_hash.startswith("scrypt:")
    assert PASSWORD not in user.password_hash


def test_duplicate_email_conflicts(client):
    make_user(email="dup@example.test")
    r = client.post("/api/v1/auth/register", json={"email": "DUP@example.test", "password": PASSWORD})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "EMAIL_TAKEN"


def test_register_validation(client):
    r = client.post("/api/v1/auth/register", json={"email": "not-an-email", "password": "short"})
    assert r.status_code == 422
    fields = r.get_json()["error"]["details"]["fields"]
    assert set(fields) == {"email", "password"}


@pytest.mark.parametrize(
    "password, why",
    [
        ("password", "most common"),
        ("Password123", "most common"),
        ("sunshine!", "most common"),
        ("12345678", "run of"),
        ("QWERTYUIOP", "run of"),
        ("87654321", "run of"),
        ("aaaaaaaaaaaa", "one or two"),
        ("abababab", "one or two"),
        ("mallory@example.test", "email address"),
    ],
)
def test_common_and_guessable_passwords_are_refused(client, password, why):
    """A review registered with "password" and "aaaaaaaaaaaa" (NIST SP 800-63B asks to refuse them)."""
    r = client.post("/api/v1/auth/register", json={"email": "mallory@example.test", "password": password})
    assert r.status_code == 422, r.get_json()
    assert why in r.get_json()["error"]["details"]["fields"]["password"]
    with pytest.raises(ValidationError):
        accounts.create_admin("mallory@example.test", password)
    ok = client.post("/api/v1/auth/register", json={"email": "mallory@example.test", "password": "mallory's words"})
    assert ok.status_code == 201


def test_wrong_password_is_uniform_401(client):
    make_user(email="x@example.test")
    for email in ("x@example.test", "nobody@example.test"):
        r = client.post("/api/v1/auth/login", json={"email": email, "password": "wrong password"})
        assert r.status_code == 401 and r.get_json()["error"]["code"] == "INVALID_CREDENTIALS"


def test_refresh_gives_new_access_token(client):
    user = make_user()
    tokens = login(client, user.email)
    r = client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert r.status_code == 200
    new_access = r.get_json()["access_token"]
    assert decode_token(new_access)["sub"] == user.id
    # an access token cannot be used to refresh
    r = client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert r.status_code == 401 or r.status_code == 422
    assert r.get_json()["error"]["code"] in {"TOKEN_INVALID", "AUTH_REQUIRED"}


def test_logout_revokes_access_and_refresh(client):
    user = make_user()
    tokens = login(client, user.email)
    access = {"Authorization": f"Bearer {tokens['access_token']}"}
    r = client.post("/api/v1/auth/logout", headers=access, json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 200 and r.get_json()["revoked"] == ["access", "refresh"]
    r = client.get("/api/v1/auth/me", headers=access)
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "TOKEN_REVOKED"
    r = client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "TOKEN_REVOKED"


def test_missing_and_garbage_tokens(client):
    r = client.get("/api/v1/auth/me")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "AUTH_REQUIRED"
    r = client.get("/api/v1/auth/me", headers={"Authorization": "Bearer not.a.jwt"})
    assert r.status_code in (401, 422) and r.get_json()["error"]["code"] == "TOKEN_INVALID"


def test_disabled_user_is_refused(client, app):
    from backend_app.services import accounts

    user = make_user()
    headers = auth_headers(client, user)
    accounts.set_role_or_disabled(user.id, disabled=True)
    r = client.get("/api/v1/auth/me", headers=headers)
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "ACCOUNT_DISABLED"
    r = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "ACCOUNT_DISABLED"


@pytest.mark.settings(login_rate_limit="3 per minute")
def test_login_is_rate_limited(client):
    codes = [
        client.post("/api/v1/auth/login", json={"email": "a@b.test", "password": "wrong password"}).status_code
        for _ in range(5)
    ]
    assert codes == [401, 401, 401, 429, 429]
    r = client.post("/api/v1/auth/login", json={"email": "a@b.test", "password": "wrong password"})
    assert r.get_json()["error"]["code"] == "RATE_LIMITED"


@pytest.mark.settings(login_rate_limit="3 per minute")
def test_rate_limit_headers_only_on_limited_views(client):
    r = client.post("/api/v1/auth/login", json={"email": "a@b.test", "password": "wrong password"})
    assert r.headers["X-RateLimit-Limit"] == "3" and r.headers["X-RateLimit-Remaining"] == "2"
    assert "X-RateLimit-Limit" not in client.get("/ping").headers
    # The limiter's per-request state does not leak into the next request on the same context.
    assert (
        client.post("/api/v1/auth/login", json={"email": "a@b.test", "password": "x" * 9}).headers[
            "X-RateLimit-Remaining"
        ]
        == "1"
    )


@pytest.mark.sqlite_only
def test_a_token_verified_before_still_expires(client, app):
    import time
    from datetime import timedelta

    from flask_jwt_extended import create_access_token

    user = make_user()
    token = create_access_token(identity=user.id, expires_delta=timedelta(seconds=3))  # 1 s flaked under load
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200  # verified, remembered
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    time.sleep(decode_token(token)["exp"] - time.time() + 0.05)
    r = client.get("/api/v1/auth/me", headers=headers)
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "TOKEN_EXPIRED"


@pytest.mark.sqlite_only
def test_a_remembered_token_with_another_signature_is_refused(client):
    user = make_user()
    headers = auth_headers(client, user)
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    token = headers["Authorization"].split()[1]
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    r = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "TOKEN_INVALID"


@pytest.mark.sqlite_only
def test_a_token_remembered_by_one_app_means_nothing_to_an_app_with_another_key(client, app, tmp_path):
    from backend_app import create_app

    user = make_user()
    headers = auth_headers(client, user)
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    other = create_app(
        {
            **{
                k: v
                for k, v in app.config["SETTINGS"].__dict__.items()
                if k in ("sqlite_path", "redis_url", "data_dir")
            },
            "jwt_secret_key": "another key entirely, 32 bytes long!",
        }
    )
    r = other.test_client().get("/api/v1/auth/me", headers=headers)
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "TOKEN_INVALID"
