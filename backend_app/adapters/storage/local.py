"""Local disk: files under one root folder, written atomically (temp file + rename); clients
reach them through HMAC-signed, expiring URLs that the app itself serves (``api/storage.py``)."""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import has_request_context, request
from itsdangerous import BadPayload, BadSignature, URLSafeSerializer

from backend_app.adapters.storage.base import (
    DEFAULT_CHUNK,
    CountingReader,
    ObjectNotFound,
    SignatureError,
    Storage,
    StorageError,
    validate_key,
    validate_prefix,
)

SIGNED_PATH = "/api/v1/storage/"
_SIGN_SALT = "framewise.storage.signed-url.v1"
_MAX_SEGMENT_BYTES = 255  # a file name on ext4, XFS, APFS and NTFS


# --- signed URLs for the local backend ---------------------------------------------------


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=_SIGN_SALT, signer_kwargs={"digest_method": hashlib.sha256})


def sign_token(secret: str, claims: dict[str, Any], expires_s: int) -> str:
    """A URL-safe HMAC-signed token carrying ``claims`` and an absolute expiry (epoch seconds)."""
    return _serializer(secret).dumps({**claims, "e": math.floor(time.time() + expires_s)})


def verify_token(secret: str, token: str, method: str) -> dict[str, Any]:
    """The claims of a token signed for ``method``.

    SignatureError (403) when tampered with, expired or made for another method; ObjectNotFound
    (404) when the signature holds but the claims cannot name a stored file (a key with ``..``,
    an absolute or over-long key, a NUL, a payload that does not decode, a claim of the wrong
    type): such a link points at nothing, whoever signed it.
    """
    try:
        claims = _serializer(secret).loads(token)
    except BadPayload:  # signed, but not base64 or JSON once decoded: checked before BadSignature
        raise _no_file() from None
    except BadSignature:
        raise SignatureError("This link has been altered or is not ours.") from None
    if not _well_formed(claims):
        raise _no_file()
    if claims.get("m") != method:
        raise SignatureError("This link does not allow this request.")
    if time.time() >= claims["e"]:
        raise SignatureError("This link has expired; ask for a new one.", code="SIGNATURE_EXPIRED")
    return claims


def _no_file() -> ObjectNotFound:
    return ObjectNotFound("This link points at no stored file.", details={})


def _well_formed(claims: Any) -> bool:
    """Claims as ``presign_put``/``presign_get`` write them, with a key this backend can store."""
    if not isinstance(claims, dict):
        return False
    expiry, size = claims.get("e"), claims.get("n")
    if type(expiry) not in (int, float) or not math.isfinite(expiry):
        return False
    if size is not None and (type(size) is not int or size < 0):
        return False
    if any(claims.get(name) is not None and not isinstance(claims[name], str) for name in ("m", "t", "f")):
        return False
    return _storable(claims.get("k"))


def _storable(key: Any) -> bool:
    try:
        validate_key(key)
        segments = [part.encode("utf-8") for part in key.split("/")]
    except (ValueError, UnicodeEncodeError):  # includes a lone surrogate, which no file name can hold
        return False
    return all(len(segment) <= _MAX_SEGMENT_BYTES for segment in segments)


def _public_base(settings) -> str:
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    return ""  # outside a request (a worker) the link stays relative to the app


class LocalStorage(Storage):
    """Files under one root folder; atomic writes; links signed with SECRET_KEY."""

    name = "local"

    def __init__(self, root: str | os.PathLike, secret: str, settings=None):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.secret = secret
        self.settings = settings

    def path_for(self, key: str) -> Path:
        path = (self.root / validate_key(key)).resolve()
        if self.root not in path.parents:
            raise ValueError(f"storage key {key!r} escapes the storage root")
        return path

    def _existing(self, key: str) -> Path:
        path = self.path_for(key)
        if not path.is_file():
            raise ObjectNotFound(details={"key": key})
        return path

    def _atomic_write(self, key: str, write) -> int:
        target = self.path_for(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                written = write(handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return written

    def put_file(self, key, path, content_type=None) -> None:
        def write(handle):
            with open(path, "rb") as source:
                shutil.copyfileobj(source, handle, DEFAULT_CHUNK)

        self._atomic_write(key, write)

    def put_bytes(self, key, data, content_type=None) -> None:
        self._atomic_write(key, lambda handle: handle.write(data))

    def put_stream(self, key, stream, content_type=None, max_bytes=None) -> int:
        reader = CountingReader(stream, max_bytes)

        def write(handle):
            while chunk := reader.read(DEFAULT_CHUNK):
                handle.write(chunk)
            return reader.count

        return self._atomic_write(key, write)

    def download_to(self, key, path) -> None:
        try:
            source = self._existing(key)
        except ObjectNotFound:
            raise ObjectNotFound(
                "The source file is missing from storage.", code="STORAGE_DOWNLOAD_FAILED", details={"key": key}
            ) from None
        fd, tmp = tempfile.mkstemp(dir=Path(path).parent, prefix=".dl-")
        try:
            with os.fdopen(fd, "wb") as handle, open(source, "rb") as src:
                shutil.copyfileobj(src, handle, DEFAULT_CHUNK)
            os.replace(tmp, path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise StorageError(f"Could not copy the stored file: {exc}", code="STORAGE_DOWNLOAD_FAILED") from exc

    def iter_chunks(self, key, chunk_size=DEFAULT_CHUNK) -> Iterator[bytes]:
        path = self._existing(key)  # checked now, so a missing file fails before streaming starts

        def chunks():
            with open(path, "rb") as handle:
                while chunk := handle.read(chunk_size):
                    yield chunk

        return chunks()

    def read_head(self, key, n) -> bytes:
        with open(self._existing(key), "rb") as handle:
            return handle.read(n)

    def size(self, key) -> int | None:
        path = self.path_for(key)
        return path.stat().st_size if path.is_file() else None

    def delete(self, key) -> None:
        self.path_for(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix) -> int:
        keys = list(self.list_keys(prefix))
        for key in keys:
            self.delete(key)
        folder = self.path_for(validate_prefix(prefix)[:-1])
        if folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)  # empty folders and stray temp files
        return len(keys)

    def list_keys(self, prefix) -> Iterator[str]:
        folder = self.path_for(validate_prefix(prefix)[:-1])
        if not folder.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if not name.startswith("."):
                    yield Path(dirpath, name).relative_to(self.root).as_posix()

    def _url(self, token: str) -> str:
        base = _public_base(self.settings) if self.settings is not None else ""
        return f"{base}{SIGNED_PATH}{token}"

    def presign_put(self, key, content_type, expires_s, size=None):
        claims = {"k": validate_key(key), "m": "PUT", "t": content_type, "n": size}
        return self._url(sign_token(self.secret, claims, expires_s)), {"Content-Type": content_type}

    def presign_get(self, key, expires_s, filename=None) -> str:
        claims = {"k": validate_key(key), "m": "GET", "f": filename}
        return self._url(sign_token(self.secret, claims, expires_s))

    def healthcheck(self) -> dict[str, Any]:
        probe = f"health/{os.getpid()}-{time.monotonic_ns()}"
        self.put_bytes(probe, b"ok")
        self.delete(probe)
        return {"ok": True, "backend": self.name}
