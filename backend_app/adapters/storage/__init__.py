"""Object storage behind one small interface: local disk (default) or S3-compatible.

``get_storage()`` returns the app's backend, chosen by ``STORAGE_BACKEND``. Keys are
generated from ids (``analysis_prefix()``), never from a filename.

- ``base``: the interface, its errors (``StorageError``, an AppError with a stable code; a
  missing object is ``ObjectNotFound``) and key rules. ``download_to`` always uses
  ``STORAGE_DOWNLOAD_FAILED`` so a job can fail with that code whatever went wrong.
- ``local``: files under ``settings.storage_root``, atomic writes, HMAC-signed expiring URLs
  that the app itself serves (``api/storage.py``).
- ``s3``: boto3 with presigned PUT/GET URLs (imported only when chosen).
"""

from __future__ import annotations

from flask import current_app

from backend_app.adapters.storage.base import (
    DEFAULT_CHUNK,
    MAX_KEY_LENGTH,
    ObjectNotFound,
    SignatureError,
    Storage,
    StorageError,
    UploadTooLarge,
    validate_key,
    validate_prefix,
)
from backend_app.adapters.storage.local import SIGNED_PATH, LocalStorage, sign_token, verify_token

__all__ = [
    "DEFAULT_CHUNK",
    "MAX_KEY_LENGTH",
    "SIGNED_PATH",
    "LocalStorage",
    "ObjectNotFound",
    "SignatureError",
    "Storage",
    "StorageError",
    "UploadTooLarge",
    "get_storage",
    "sign_token",
    "validate_key",
    "validate_prefix",
    "verify_token",
]


def _build(settings) -> Storage:
    if settings.storage_backend == "s3":
        from backend_app.adapters.storage.s3 import S3Storage

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
