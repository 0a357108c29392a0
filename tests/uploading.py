"""Uploading through the real API in tests: follow signed links, upload a file end to end."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import requests


def send(client, method: str, url: str, **kwargs):
    """Follow a signed link: the app's own links through the test client, S3 links over HTTP.

    Returns (status, body bytes, headers).
    """
    parts = urlsplit(url)
    if parts.netloc in ("", "localhost"):
        response = client.open(parts.path + (f"?{parts.query}" if parts.query else ""), method=method, **kwargs)
        return response.status_code, response.get_data(), response.headers
    response = requests.request(method, url, timeout=30, **kwargs)
    return response.status_code, response.content, response.headers


def make_session(client, headers, name: str = "uploads") -> str:
    response = client.post("/api/v1/sessions", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def init_upload(
    client, headers, session_id: str, *, size: int, filename: str = "clip.mp4", content_type: str = "video/mp4"
):
    return client.post(
        "/api/v1/uploads/init",
        headers=headers,
        json={"filename": filename, "content_type": content_type, "file_size": size, "session_id": session_id},
    )


def upload_video(
    client,
    headers,
    session_id: str,
    data: bytes | str | Path,
    *,
    filename: str = "clip.mp4",
    content_type: str = "video/mp4",
) -> dict:
    """init → PUT → complete; returns the complete response's JSON (asserting each step worked)."""
    if not isinstance(data, bytes):
        data = Path(data).read_bytes()
    ticket = init_upload(client, headers, session_id, size=len(data), filename=filename, content_type=content_type)
    assert ticket.status_code == 201, ticket.get_json()
    ticket = ticket.get_json()
    status, body, _ = send(client, ticket["method"], ticket["upload_url"], data=data, headers=ticket["headers"])
    assert status in (200, 201), body[:300]
    done = client.post("/api/v1/uploads/complete", json={"analysis_id": ticket["analysis_id"]}, headers=headers)
    assert done.status_code == 202, done.get_json()
    return done.get_json()
