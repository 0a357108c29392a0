"""Object storage behind one small interface: local disk (default) or S3-compatible.

``get_storage()`` returns the app's backend, chosen by ``STORAGE_BACKEND``. Keys are
generated from ids (``analysis_prefix()``), never from a filename. The local backend keeps
files under ``settings.storage_root`` and writes atomically (temp file + rename); clients
reach it through HMAC-signed, expiring URLs that the app itself serves (``api/storage.py``).
The S3 backend (``storage_s3.py``) hands out presigned PUT/GET URLs instead.

Errors are ``StorageError`` (an AppError, so a view renders them) with a stable code;
a missing object is ``ObjectNotFound``. ``download_to`` always uses ``STORAGE_DOWNLOAD_FAILED``
so a job can fail with that code whatever went wrong.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from flask import current_app, has_request_context, request
from itsdangerous import BadSignature, URLSafeSerializer

from backend_app.errors import AppError

DEFAULT_CHUNK = 1 << 20
MAX_KEY_LENGTH = 1024
SIGNED_PATH = "/api/v1/storage/"
_SIGN_SALT = "framewise.storage.signed-url.v1"


class StorageError(AppError):
    status, code, message = 503, "STORAGE_UNAVAILABLE", "The file store did not answer; try again shortly."


class ObjectNotFound(StorageError):
    status, code, message = 404, "OBJECT_NOT_FOUND", "The stored file does not exist."


class UploadTooLarge(StorageError):
    status, code, message = 413, "UPLOAD_TOO_LARGE", "The upload is larger than was declared."


class SignatureError(StorageError):
    status, code, message = 403, "SIGNATURE_INVALID", "This link is not valid."


def validate_key(key: str) -> str:
    """A storage key: relative, '/'-separated, no empty, '.' or '..' or hidden segments."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"invalid storage key {key!r}")
    if key.startswith("/") or "\\" in key or "\x00" in key:
        raise ValueError(f"invalid storage key {key!r}")
    for part in key.split("/"):
        if not part or part.startswith("."):
            raise ValueError(f"invalid storage key {key!r}")
    return key


def validate_prefix(prefix: str) -> str:
    """A prefix is a key that ends with '/' (so 'users/1' never matches 'users/10/...')."""
    if not prefix.endswith("/"):
        raise ValueError(f"a storage prefix must end with '/': {prefix!r}")
    validate_key(prefix[:-1])
    return prefix


class _CountingReader:
    """Reads from ``stream`` and refuses to go past ``limit`` bytes."""

    def __init__(self, stream: IO[bytes], limit: int | None):
        self.stream, self.limit, self.count = stream, limit, 0

    def read(self, size: int = -1) -> bytes:
        if self.limit is not None and (size is None or size < 0):
            size = self.limit - self.count + 1
        data = self.stream.read(size)
        self.count += len(data)
        if self.limit is not None and self.count > self.limit:
            raise UploadTooLarge(details={"limit": self.limit})
        return data


class Storage:
    """The interface every backend implements (names are relied on by jobs, API and export)."""

    name = "abstract"

    def put_file(self, key: str, path: str | os.PathLike, content_type: str | None = None) -> None:
        raise NotImplementedError

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        raise NotImplementedError

    def put_stream(
        self, key: str, stream: IO[bytes], content_type: str | None = None, max_bytes: int | None = None
    ) -> int:
        """Copy a readable stream to ``key`` without holding it in memory; returns bytes written."""
        raise NotImplementedError

    def download_to(self, key: str, path: str | os.PathLike) -> None:
        raise NotImplementedError

    def iter_chunks(self, key: str, chunk_size: int = DEFAULT_CHUNK) -> Iterator[bytes]:
        raise NotImplementedError

    def read_head(self, key: str, n: int) -> bytes:
        raise NotImplementedError

    def size(self, key: str) -> int | None:
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def delete_prefix(self, prefix: str) -> int:
        raise NotImplementedError

    def list_keys(self, prefix: str) -> Iterator[str]:
        raise NotImplementedError

    def presign_put(
        self, key: str, content_type: str, expires_s: int, size: int | None = None
    ) -> tuple[str, dict[str, str]]:
        raise NotImplementedError

    def presign_get(self, key: str, expires_s: int, filename: str | None = None) -> str:
        raise NotImplementedError

    def healthcheck(self) -> dict[str, Any]:
        raise NotImplementedError


# --- signed URLs for the local backend ---------------------------------------------------


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=_SIGN_SALT, signer_kwargs={"digest_method": hashlib.sha256})


def sign_token(secret: str, claims: dict[str, Any], expires_s: int) -> str:
    """A URL-safe HMAC-signed token carrying ``claims`` and an absolute expiry (epoch seconds)."""
    return _serializer(secret).dumps({**claims, "e": math.floor(time.time() + expires_s)})


def verify_token(secret: str, token: str, method: str) -> dict[str, Any]:
    """The claims of a token signed for ``method``; SignatureError when tampered or expired."""
    try:
        claims = _serializer(secret).loads(token)
    except BadSignature:
        raise SignatureError("This link has been altered or is not ours.") from None
    if not isinstance(claims, dict) or claims.get("m") != method or "k" not in claims:
        raise SignatureError("This link does not allow this request.")
    if time.time() >= float(claims.get("e", 0)):
        raise SignatureError("This link has expired; ask for a new one.", code="SIGNATURE_EXPIRED")
    return claims


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
        reader = _CountingReader(stream, max_bytes)

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


def _build(settings) -> Storage:
    if settings.storage_backend == "s3":
        from backend_app.adapters.storage_s3 import S3Storage

        return S3Storage(settings)
    return LocalStorage(settings.storage_root, settings.secret_key, settings)


def _cache_key(settings) -> tuple:
    return (
        settings.storage_backend,
        settings.storage_root,
        settings.secret_key,
        settings.public_base_url,
        settings.s3_endpoint_url,
        settings.s3_public_endpoint_url,
        settings.s3_bucket,
        settings.s3_region,
        settings.s3_access_key_id,
    )


def get_storage() -> Storage:
    """The current app's storage backend (rebuilt when its settings change)."""
    settings = current_app.config["SETTINGS"]
    key = _cache_key(settings)
    cached = current_app.extensions.get("storage")
    if cached is None or cached[0] != key:
        cached = (key, _build(settings))
        current_app.extensions["storage"] = cached
    return cached[1]


def content_disposition(filename: str) -> str:
    """An attachment header that survives any filename (RFC 6266 with a UTF-8 fallback)."""
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename) or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
