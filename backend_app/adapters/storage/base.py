"""The storage interface every backend implements, its errors and its keys.

Errors are ``StorageError`` (an AppError, so a view renders them) with a stable code;
a missing object is ``ObjectNotFound``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import IO, Any

from backend_app.errors import AppError

DEFAULT_CHUNK = 1 << 20
MAX_KEY_LENGTH = 1024


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


class CountingReader:
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
