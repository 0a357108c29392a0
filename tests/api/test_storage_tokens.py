"""Signed storage links whose claims name no storable file: a coded 404, never a 500.

Every token here is signed with the app's real SECRET_KEY, so the signature check passes and
what is tested is what the app does with claims it signed (or would have, had it a bug).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time

import pytest
from itsdangerous import URLSafeSerializer

from backend_app.adapters.storage import sign_token

pytestmark = pytest.mark.sqlite_only  # the database is beside the point here

SALT = "framewise.storage.signed-url.v1"  # adapters/storage/local.py
LATER = time.time() + 3600


def _serializer(app) -> URLSafeSerializer:
    secret = app.config["SETTINGS"].secret_key
    return URLSafeSerializer(secret, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256})


def _signed_raw(app, payload: bytes) -> str:
    """A token whose signature holds over ``payload`` exactly as given (already encoded)."""
    return _serializer(app).make_signer().sign(payload).decode()


BAD_CLAIMS = {
    "dot-dot": {"k": "../../etc/passwd"},
    "dot-dot-inside": {"k": "users/u1/../../../outside"},
    "empty": {"k": ""},
    "absolute": {"k": "/etc/passwd"},
    "backslash": {"k": "users\\..\\..\\x"},
    "nul": {"k": "users/u1/a\x00b"},
    "too-long": {"k": "users/" + "a/" * 600},
    "segment-too-long": {"k": "users/" + "b" * 300},
    "lone-surrogate": {"k": "users/\ud800"},
    "hidden": {"k": "users/.tmp-x"},
    "key-number": {"k": 123},
    "key-list": {"k": ["users", "u1"]},
    "key-null": {"k": None},
    "key-missing": {},
    "expiry-text": {"k": "users/u1/x", "e": "tomorrow"},
    "expiry-null": {"k": "users/u1/x", "e": None},
    "expiry-nan": {"k": "users/u1/x", "e": float("nan")},
    "size-text": {"k": "users/u1/x", "n": "5"},
    "size-negative": {"k": "users/u1/x", "n": -1},
    "size-bool": {"k": "users/u1/x", "n": True},
    "filename-number": {"k": "users/u1/x", "f": 5},
    "type-list": {"k": "users/u1/x", "t": ["video/mp4"]},
}


def _claims_token(app, claims: dict, method: str) -> str:
    """Signed claims, JSON-encoded with escapes so that even a lone surrogate gets through."""
    payload = json.dumps({"m": method, "e": LATER, **claims}).encode()
    return _signed_raw(app, base64.urlsafe_b64encode(payload).rstrip(b"="))


def _assert_not_found(response):
    assert response.status_code == 404, (response.status_code, response.get_data()[:300])
    body = response.get_json()
    assert body["error"]["code"] == "OBJECT_NOT_FOUND" and body["error"]["message"]


@pytest.mark.parametrize("method", ["GET", "PUT"])
@pytest.mark.parametrize("case", sorted(BAD_CLAIMS))
def test_signed_claims_that_name_no_file_are_a_coded_404(app, client, method, case):
    token = _claims_token(app, BAD_CLAIMS[case], method)
    _assert_not_found(client.open(f"/api/v1/storage/{token}", method=method, data=b"abc"))


@pytest.mark.parametrize("method", ["GET", "PUT"])
@pytest.mark.parametrize(
    "payload",
    [
        b"!!not*base64!!",  # not base64
        base64.urlsafe_b64encode(b"{not json").rstrip(b"="),  # base64, not JSON
        b"." + base64.urlsafe_b64encode(b"not zlib").rstrip(b"="),  # "compressed", is not
        base64.urlsafe_b64encode(b'["k", "m"]').rstrip(b"="),  # JSON, not an object
    ],
    ids=["base64", "json", "zlib", "list"],
)
def test_signed_payloads_that_do_not_decode_are_a_coded_404(app, client, method, payload):
    _assert_not_found(client.open(f"/api/v1/storage/{_signed_raw(app, payload)}", method=method, data=b"abc"))


def test_the_signature_and_method_checks_still_come_first(app, client):
    secret = app.config["SETTINGS"].secret_key
    forged = sign_token("not-the-secret", {"k": "../../etc/passwd", "m": "GET"}, 60)
    assert client.get(f"/api/v1/storage/{forged}").get_json()["error"]["code"] == "SIGNATURE_INVALID"
    upload_link = sign_token(secret, {"k": "users/u1/x", "m": "PUT"}, 60)
    assert client.get(f"/api/v1/storage/{upload_link}").status_code == 403
    expired = sign_token(secret, {"k": "users/u1/x", "m": "GET"}, -10)
    assert client.get(f"/api/v1/storage/{expired}").get_json()["error"]["code"] == "SIGNATURE_EXPIRED"
    missing = sign_token(secret, {"k": "users/u1/never-stored", "m": "GET"}, 60)
    _assert_not_found(client.get(f"/api/v1/storage/{missing}"))
