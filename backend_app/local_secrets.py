"""Signing secrets for a deployment that sets none: generated once, kept in the data folder.

Outside production an unset ``SECRET_KEY`` or ``JWT_SECRET_KEY`` is never a built-in string
(anyone who has read the code could sign tokens with it): the first start writes two random
secrets to ``$DATA_DIR/secrets.json`` (mode 0600) and every later start reads them back, so
sessions and signed links outlive a restart. ``make run`` starts gunicorn's workers and the
RQ worker at the same moment; each of them may be the first. The file is written whole under a
temporary name and linked into place, which fails if another process got there first, so every
process ends up reading the one file that won.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import time
from pathlib import Path

FILE_NAME = "secrets.json"
KEYS = ("SECRET_KEY", "JWT_SECRET_KEY")
_READ_WAIT_S = 5.0  # how long a reader waits for a half-written file (the fallback path only)


class SecretsFileError(ValueError):
    """The secrets file exists but cannot be used."""


def load_or_create(data_dir: str | os.PathLike) -> dict[str, str]:
    """The deployment's generated secrets, creating them on the first call for this folder."""
    path = Path(data_dir) / FILE_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _create(path, {key: secrets.token_urlsafe(48) for key in KEYS})
    return _read(path)


def _create(path: Path, values: dict[str, str]) -> None:
    """Write ``values`` to ``path`` unless it exists; whoever comes second keeps the first one's."""
    body = (json.dumps(values, indent=2) + "\n").encode()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # atomic and exclusive: fails when another process linked first
        except FileExistsError:
            pass
        except OSError:  # a filesystem without hard links: exclusive create, readers wait for content
            _create_exclusive(path, body)
    finally:
        tmp.unlink(missing_ok=True)


def _create_exclusive(path: Path, body: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as handle:
        handle.write(body)
        handle.flush()
        os.fsync(handle.fileno())


def _read(path: Path) -> dict[str, str]:
    deadline = time.monotonic() + _READ_WAIT_S
    while True:
        _owner_only(path)
        text = path.read_text()
        try:
            values = json.loads(text)
            break
        except ValueError:
            if time.monotonic() >= deadline:
                raise SecretsFileError(
                    f"{path} is not the JSON object of secrets Framewise wrote; "
                    "delete it to have new secrets generated (every signed-in user signs in again)"
                ) from None
            time.sleep(0.05)
    if not isinstance(values, dict) or not all(isinstance(values.get(k), str) and len(values[k]) >= 32 for k in KEYS):
        raise SecretsFileError(
            f"{path} lacks a strong {' or '.join(KEYS)}; delete it to have new secrets generated "
            "(every signed-in user signs in again)"
        )
    return {key: values[key] for key in KEYS}


def _owner_only(path: Path) -> None:
    """A copy made readable by others (a restore, a careless chmod) is put back to 0600."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        os.chmod(path, 0o600)
