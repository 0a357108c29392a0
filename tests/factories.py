"""Factories for users and signed-in clients."""

from __future__ import annotations

import itertools
import re

from backend_app.services import accounts

_counter = itertools.count(1)
PASSWORD = "correct horse battery"
FORM_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


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


def form_csrf(client, path: str = "/login") -> str:
    """Open a sign-in form as a browser does (setting its CSRF cookie) and return the form's token."""
    response = client.get(path)
    assert response.status_code == 200
    return FORM_CSRF.search(response.get_data(as_text=True)).group(1)


def page_login(client, email: str, password: str = PASSWORD, **data):
    """Post the login form with the token of a freshly opened form; returns the response."""
    return client.post("/login", data={"email": email, "password": password, "csrf_token": form_csrf(client), **data})
