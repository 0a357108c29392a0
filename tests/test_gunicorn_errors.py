"""What gunicorn answers by itself (an over-long URL or headers, a malformed request) is JSON.

A real gunicorn with the project's gunicorn.conf.py serves the app (one worker), and raw
requests probe its limits, which the app never sees.
"""

from __future__ import annotations

import json
import socket

import pytest
import requests

from backend_app import local_redis
from tests.helpers import ROOT, start_gunicorn

pytestmark = pytest.mark.sqlite_only  # the database is beside the point here


@pytest.fixture
def served(app):
    port = local_redis.free_port()
    proc = start_gunicorn(
        app, port, ["-c", str(ROOT / "gunicorn.conf.py")], {"GUNICORN_CMD_ARGS": "--workers 1 --threads 2"}
    )
    try:
        yield port
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _raw(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are; read the whole answer (gunicorn closes after an error)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # it may answer and close before the rest of an oversized request is sent
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split(" ")[1]), {k.lower(): v for k, v in headers.items()}, body


def _get(path: str, headers: list[str] = ()) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *headers, "Connection: close", "", ""]
    return "\r\n".join(lines).encode()


def _error(answer, status: int, code: str) -> dict:
    got, headers, body = answer
    assert got == status, (got, body[:300])
    assert headers["content-type"] == "application/json", headers
    error = json.loads(body)["error"]
    assert error["code"] == code and error["message"] and isinstance(error["details"], dict), error
    return error


def test_oversized_url_and_headers_answer_the_json_error_shape(served):
    port = served
    # Inside the limits the app answers (its own 404 for an unknown path, in the same shape).
    _error(_raw(port, _get("/api/v1/" + "a" * 3000)), 404, "NOT_FOUND")

    long_url = _error(_raw(port, _get("/api/v1/simple-health?q=" + "a" * 5000)), 414, "URI_TOO_LONG")
    assert long_url["details"] == {"max_request_line_bytes": 4094}

    big_header = _error(_raw(port, _get("/ping", ["X-Big: " + "b" * 9000])), 431, "HEADERS_TOO_LARGE")
    assert big_header["details"] == {"max_header_fields": 100, "max_header_field_bytes": 8190}
    many = [f"X-H{i}: v" for i in range(120)]
    _error(_raw(port, _get("/ping", many)), 431, "HEADERS_TOO_LARGE")

    _error(_raw(port, b"NOT AN HTTP REQUEST\r\n\r\n"), 400, "BAD_REQUEST")

    # The worker is still serving after all of that.
    assert requests.get(f"http://127.0.0.1:{port}/ping", timeout=5).status_code == 200
