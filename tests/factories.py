"""Factories for users and signed-in clients."""

from __future__ import annotations

import itertools

from backend_app.services import accounts

_counter = itertools.count(1)
PASSWORD = "correct horse battery"


def make_user(role: str = "user", email: str | None = None, password: str = PASSWORD):
    """A committed user (inside an app context)."""
    email = email or f"user{next(_counter)}@example.test"
    if role == "admin":
        user, _ = accounts.create_admin(email, password)
    else:
        user = accounts.register(email, password)
    return user


def login(client, email: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def auth_headers(client, user, password: str = PASSWORD) -> dict[str, str]:
    tokens = login(client, user.email, password)
    return {"Authorization": f"Bearer {tokens['access_token']}"}
