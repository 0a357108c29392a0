"""The S3-compatible backend (AWS S3, MinIO, moto): boto3 with presigned PUT/GET URLs.

The bucket is created on first use in development and test; in production it must exist.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from backend_app.adapters.storage.base import (
    DEFAULT_CHUNK,
    CountingReader,
    ObjectNotFound,
    Storage,
    StorageError,
    UploadTooLarge,
    validate_key,
    validate_prefix,
)
from backend_app.filenames import content_disposition

_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}
_TRANSFER = TransferConfig(multipart_threshold=64 << 20, multipart_chunksize=16 << 20, max_concurrency=4)


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in _MISSING


class S3Storage(Storage):
    name = "s3"

    def __init__(self, settings):
        self.bucket = settings.s3_bucket
        self.client = self._client(settings, settings.s3_endpoint_url)
        public = settings.s3_public_endpoint_url
        # Presigned URLs are signed for the host the client will use, so they need their own client.
        self.signer = self._client(settings, public) if public and public != settings.s3_endpoint_url else self.client
        if settings.app_env in ("development", "test"):
            self._ensure_bucket(settings.s3_region)

    @staticmethod
    def _client(settings, endpoint_url: str):
        return boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id or None,
            aws_secret_access_key=settings.s3_secret_access_key or None,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=60,
            ),
        )

    def _ensure_bucket(self, region: str) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if not _missing(exc):
                raise StorageError(f"Cannot reach bucket {self.bucket!r}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"Cannot reach the S3 endpoint: {exc}") from exc
        extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        try:
            self.client.create_bucket(Bucket=self.bucket, **extra)
            # Browsers PUT straight to presigned URLs, so a bucket made here allows that (development only).
            self.client.put_bucket_cors(
                Bucket=self.bucket,
                CORSConfiguration={
                    "CORSRules": [
                        {
                            "AllowedMethods": ["PUT", "GET", "HEAD"],
                            "AllowedOrigins": ["*"],
                            "AllowedHeaders": ["*"],
                            "ExposeHeaders": ["ETag"],
                            "MaxAgeSeconds": 3600,
                        }
                    ]
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise StorageError(f"Cannot create bucket {self.bucket!r}: {exc}") from exc

    def _call(self, method: str, key: str | None = None, **kwargs) -> Any:
        """One S3 call with errors translated: missing → ObjectNotFound, anything else → StorageError."""
        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            if _missing(exc):
                raise ObjectNotFound(details={"key": key}) from None
            raise StorageError(f"S3 {method} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 {method} failed: {exc}") from exc

    @staticmethod
    def _extra(content_type: str | None) -> dict[str, str]:
        return {"ContentType": content_type} if content_type else {}

    def put_file(self, key, path, content_type=None) -> None:
        try:
            self.client.upload_file(
                str(path), self.bucket, validate_key(key), ExtraArgs=self._extra(content_type), Config=_TRANSFER
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"S3 upload failed: {exc}") from exc

    def put_bytes(self, key, data, content_type=None) -> None:
        self._call("put_object", key, Key=validate_key(key), Body=data, **self._extra(content_type))

    def put_stream(self, key, stream, content_type=None, max_bytes=None) -> int:
        reader = CountingReader(stream, max_bytes)
        try:
            self.client.upload_fileobj(
                reader, self.bucket, validate_key(key), ExtraArgs=self._extra(content_type), Config=_TRANSFER
            )
        except UploadTooLarge:
            raise
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"S3 upload failed: {exc}") from exc
        return reader.count

    def download_to(self, key, path) -> None:
        fd, tmp = tempfile.mkstemp(dir=Path(path).parent, prefix=".dl-")
        os.close(fd)
        try:
            self.client.download_file(self.bucket, validate_key(key), tmp, Config=_TRANSFER)
            os.replace(tmp, path)
        except ClientError as exc:
            Path(tmp).unlink(missing_ok=True)
            cls = ObjectNotFound if _missing(exc) else StorageError
            raise cls(
                f"Could not download the stored file: {exc}", code="STORAGE_DOWNLOAD_FAILED", details={"key": key}
            ) from None
        except (BotoCoreError, OSError) as exc:
            Path(tmp).unlink(missing_ok=True)
            raise StorageError(f"Could not download the stored file: {exc}", code="STORAGE_DOWNLOAD_FAILED") from exc

    def iter_chunks(self, key, chunk_size=DEFAULT_CHUNK) -> Iterator[bytes]:
        body = self._call("get_object", key, Key=validate_key(key))["Body"]

        def chunks():
            try:
                yield from body.iter_chunks(chunk_size)
            finally:
                body.close()

        return chunks()

    def read_head(self, key, n) -> bytes:
        if n <= 0:
            return b""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=validate_key(key), Range=f"bytes=0-{n - 1}")["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                return b""  # an empty object has no byte 0
            if _missing(exc):
                raise ObjectNotFound(details={"key": key}) from None
            raise StorageError(f"S3 get_object failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 get_object failed: {exc}") from exc
        with body:
            return body.read(n)

    def size(self, key) -> int | None:
        try:
            return int(self._call("head_object", key, Key=validate_key(key))["ContentLength"])
        except ObjectNotFound:
            return None

    def delete(self, key) -> None:
        self._call("delete_object", key, Key=validate_key(key))

    def delete_prefix(self, prefix) -> int:
        count, batch = 0, []
        for key in self.list_keys(prefix):
            batch.append({"Key": key})
            if len(batch) == 1000:
                count += self._delete_batch(batch)
                batch = []
        if batch:
            count += self._delete_batch(batch)
        return count

    def _delete_batch(self, batch: list[dict[str, str]]) -> int:
        result = self._call("delete_objects", Delete={"Objects": batch, "Quiet": True})
        if result.get("Errors"):
            raise StorageError(f"S3 refused to delete {len(result['Errors'])} object(s)")
        return len(batch)

    def list_keys(self, prefix) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=validate_prefix(prefix)):
                for item in page.get("Contents", []):
                    yield item["Key"]
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"S3 list failed: {exc}") from exc

    def presign_put(self, key, content_type, expires_s, size=None):
        params = {"Bucket": self.bucket, "Key": validate_key(key), "ContentType": content_type}
        if size is not None:
            params["ContentLength"] = int(size)  # signed, so S3 refuses a body of another length
        url = self.signer.generate_presigned_url("put_object", Params=params, ExpiresIn=int(expires_s))
        return url, {"Content-Type": content_type}

    def presign_get(self, key, expires_s, filename=None) -> str:
        params = {"Bucket": self.bucket, "Key": validate_key(key)}
        if filename:
            params["ResponseContentDisposition"] = content_disposition(filename)
        return self.signer.generate_presigned_url("get_object", Params=params, ExpiresIn=int(expires_s))

    def healthcheck(self) -> dict[str, Any]:
        self._call("head_bucket")
        return {"ok": True, "backend": self.name, "bucket": self.bucket}
