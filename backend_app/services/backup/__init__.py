"""`flask backup create|restore`: the database and the stored files in one tar.gz with a manifest.

An archive holds ``manifest.json`` (format version, when, the migration head, row counts per
table, the storage it holds), the database (``database.sqlite3`` from SQLite's online backup API,
or ``database.pgdump`` from pg_dump) and ``storage/`` (a copy of the local storage folder). S3
storage is not copied: ``create`` says so and stops unless told ``database_only``; the bucket is
backed up with its provider's tools. ``restore`` fills an empty database and storage folder, and
refuses a non-empty one unless forced; it checks the restored row counts against the manifest.
Generated secrets ($DATA_DIR/secrets.json) are not in the archive: keep them in your secret store.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app

from backend_app.services.backup import database
from backend_app.services.backup.database import BackupError

FORMAT, FORMAT_VERSION = "framewise-backup", 1
MANIFEST, STORAGE = "manifest.json", "storage"


def default_path() -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Path(current_app.config["SETTINGS"].data_dir) / "backups" / f"framewise-{stamp}.tar.gz"


def create(output: Path | None = None, *, database_only: bool = False) -> dict[str, Any]:
    """Write an archive of the database and the local storage; returns its manifest (and path)."""
    settings = current_app.config["SETTINGS"]
    if settings.storage_backend != "local" and not database_only:
        raise BackupError(
            f"Storage is S3 (bucket {settings.s3_bucket!r}): this command copies a local storage folder only. "
            "Back the bucket up with its provider's tools (versioning or replication, `aws s3 sync`, "
            "`mc mirror`) and run `flask backup create --database-only` for the database.",
            code="BACKUP_STORAGE_NOT_LOCAL",
        )
    output = Path(output or default_path()).resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=output.parent) as work:
        name, counts, head = database.dump(Path(work))
        storage = _storage_summary(settings, include=not database_only)
        manifest = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "created_at": datetime.now(UTC).isoformat(),
            "migration_head": head,
            "database": {"dialect": database.dialect(), "file": name},
            "storage": storage,
            "counts": counts,
        }
        (Path(work) / MANIFEST).write_text(json.dumps(manifest, indent=2))
        partial = output.with_name(output.name + ".partial")
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(Path(work) / MANIFEST, arcname=MANIFEST)  # first: read without unpacking the rest
            archive.add(Path(work) / name, arcname=name)
            if storage["included"] and Path(settings.storage_root).is_dir():
                archive.add(settings.storage_root, arcname=STORAGE)
        partial.chmod(0o600)  # password hashes and every user's files
        os.replace(partial, output)
    return {**manifest, "path": str(output)}


def _storage_summary(settings, include: bool) -> dict[str, Any]:
    if settings.storage_backend != "local":
        return {"backend": settings.storage_backend, "included": False, "bucket": settings.s3_bucket}
    if not include:
        return {"backend": "local", "included": False}
    files = [p for p in Path(settings.storage_root).rglob("*") if p.is_file()]
    return {"backend": "local", "included": True, "files": len(files), "bytes": sum(p.stat().st_size for p in files)}


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        with tarfile.open(path, "r:gz") as archive:
            member = archive.extractfile(MANIFEST)
            manifest = json.loads(member.read()) if member else None
    except (OSError, tarfile.TarError, KeyError, ValueError) as exc:
        raise BackupError(f"{path} is not a Framewise backup: {exc}", code="BACKUP_ARCHIVE_INVALID") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a Framewise backup (no manifest).", code="BACKUP_ARCHIVE_INVALID")
    if manifest.get("version") != FORMAT_VERSION:
        raise BackupError(
            f"{path} is a backup of format {manifest.get('version')}; this version reads {FORMAT_VERSION}.",
            code="BACKUP_ARCHIVE_INVALID",
        )
    return manifest


def _target_contents(settings) -> dict[str, int]:
    rows = sum(database.rows_now().values())
    root = Path(settings.storage_root)
    files = sum(1 for p in root.rglob("*") if p.is_file()) if root.is_dir() else 0
    return {"database_rows": rows, "storage_files": files}


def restore(path: Path, *, force: bool = False) -> dict[str, Any]:
    """Put an archive's database and files in place; returns what was restored and what to do next."""
    settings = current_app.config["SETTINGS"]
    manifest = read_manifest(Path(path))
    found = _refusal_or_contents(manifest, settings, force)
    notes = _put_in_place(Path(path), manifest, settings)
    restored = database.rows_now()
    differ = {t: (n, restored.get(t)) for t, n in manifest["counts"].items() if restored.get(t) != n}
    if differ:
        raise BackupError(
            "The restored database does not hold what the manifest counts.", code="BACKUP_VERIFY_FAILED", details=differ
        )
    if manifest.get("migration_head") not in database.known_revisions()[1]:
        notes.append("The backup's schema is older than this code: run `flask db upgrade` before starting the app.")
    return {"manifest": manifest, "restored_counts": restored, "replaced": found, "notes": notes}


def _refusal_or_contents(manifest: dict[str, Any], settings, force: bool) -> dict[str, int]:
    """What the target holds now; raises when the archive cannot go there."""
    head = manifest.get("migration_head")
    if head and head not in database.known_revisions()[0]:
        raise BackupError(
            f"The backup's schema ({head}) is newer than this code's migrations: restore it with the "
            "Framewise version that made it.",
            code="BACKUP_NEWER_THAN_CODE",
        )
    found = _target_contents(settings)
    if any(found.values()) and not force:
        raise BackupError(
            f"The target is not empty ({found['database_rows']} rows in the database, {found['storage_files']} "
            "stored files): restore into an empty data folder and database, or pass --force to replace them.",
            code="BACKUP_TARGET_NOT_EMPTY",
            details=found,
        )
    return found


def _put_in_place(path: Path, manifest: dict[str, Any], settings) -> list[str]:
    """Unpack next to the data (same file system), load the database, move the files in; the notes."""
    storage, notes = manifest["storage"], []
    work_parent = Path(settings.data_dir)
    work_parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=work_parent) as work:
        with tarfile.open(path, "r:gz") as archive:
            archive.extractall(work, filter="data")  # no absolute paths, links out, or devices
        database.load(Path(work), manifest["database"]["file"])
        if storage.get("included") and settings.storage_backend == "local":
            _replace_storage(Path(work) / STORAGE, Path(settings.storage_root))
        elif storage.get("included"):
            notes.append("The archive's files were not restored: storage here is S3; upload them with its tools.")
        else:
            notes.append(f"The archive holds no files ({storage.get('backend')} storage): restore them separately.")
    return notes


def _replace_storage(source: Path, root: Path) -> None:
    if root.exists():
        shutil.rmtree(root)
    if source.is_dir():
        root.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), str(root))
    else:
        root.mkdir(parents=True, exist_ok=True)
