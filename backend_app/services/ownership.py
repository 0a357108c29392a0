"""What a user owns: streamed export (a zip) and erasure (every row, object and queued job).

Ownership is derived from the schema, so a table added later is covered without a change
here: a table is owned when it has a ``user_id`` column, or a foreign key to an owned table
(recursively). Secrets (the password hash) never leave the database. Data outside the database
is reached through hooks (services/hooks.py): erasers and file exporters, registered by each
feature; the account-level erasers (queued jobs, cached model answers) are registered here.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job as RQJob
from sqlalchemy import Table, delete, select

from backend_app.errors import NotFound
from backend_app.extensions import db, redis_store
from backend_app.models import Job, User
from backend_app.models.job import FINISHED
from backend_app.services import ai, hooks, signins
from backend_app.services.files import Download

log = logging.getLogger(__name__)
SECRET_COLUMNS = {("users", "password_hash"), ("api_keys", "key_hash")}
CHUNK = 1 << 20


def remove_rq_jobs(user_id: str) -> dict[str, int]:
    """Take the user's jobs off the queues and out of Redis, finished ones too (their records
    and results are the user's data): no worker touches them after erasure, nothing is left."""
    counts = {"queued_jobs": 0, "job_records": 0}
    rows = db.session.execute(select(Job.id, Job.status).where(Job.user_id == user_id)).all()
    for job_id, status in rows:
        try:
            rq_job = RQJob.fetch(job_id, connection=redis_store.conn)
        except NoSuchJobError:
            continue
        if rq_job.get_status() == "started":
            try:
                send_stop_job_command(redis_store.conn, job_id)
            except InvalidJobOperation:
                pass
        rq_job.delete()
        counts["queued_jobs" if status not in FINISHED else "job_records"] += 1
    return counts


def forget_llm_answers(user_id: str) -> dict[str, int]:
    """The user's cached model answers in Redis (they can quote requirement text)."""
    return {"llm_cache_entries": ai.forget_user(user_id)}


def init_app(app: Flask) -> None:
    """The account-level erasers, first: the user's jobs stop before their data goes."""
    hooks.of(app).erase.extend([remove_rq_jobs, forget_llm_answers])


def owned_condition(table: Table, user_id: str, _seen: frozenset = frozenset()):
    """A WHERE clause selecting the user's rows of ``table``, or None when it holds none."""
    if table.name in _seen:
        return None
    if "user_id" in table.c:
        return table.c.user_id == user_id
    if table.name == "users":
        return table.c.id == user_id
    for fk in table.foreign_keys:
        parent = fk.column.table
        condition = owned_condition(parent, user_id, _seen | {table.name})
        if condition is not None:
            return fk.parent.in_(select(fk.column).where(condition))
    return None


def owned_tables(user_id: str) -> list[tuple[Table, Any]]:
    """Every table with rows a user can own, parents before children."""
    result = []
    for table in db.metadata.sorted_tables:
        condition = owned_condition(table, user_id)
        if condition is not None:
            result.append((table, condition))
    return result


def _require_user(user_id: str) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.", code="USER_NOT_FOUND")
    return user


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _table_lines(table: Table, condition) -> Iterator[bytes]:
    hidden = {col for name, col in SECRET_COLUMNS if name == table.name}
    columns = [c for c in table.c if c.name not in hidden]
    result = db.session.execute(select(*columns).where(condition).execution_options(yield_per=500))
    for row in result:
        yield (json.dumps(dict(row._mapping), default=_json_default, ensure_ascii=False) + "\n").encode()


class _Sink(io.RawIOBase):
    """An unseekable buffer zipfile writes into; drained after every chunk so memory stays flat."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def stream_zip(entries: Iterable[tuple[str, Iterator[bytes]]]) -> Iterator[bytes]:
    """Zip ``(path, chunks)`` entries into a byte stream without holding any entry in memory."""
    sink = _Sink()
    archive = zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)
    stamp = datetime.now(UTC).timetuple()[:6]
    for name, chunks in entries:
        info = zipfile.ZipInfo(name, date_time=stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, mode="w", force_zip64=True) as handle:
            for chunk in chunks:
                handle.write(chunk)
                if data := sink.drain():
                    yield data
        if data := sink.drain():
            yield data
    archive.close()
    yield sink.drain()


def export_entries(user_id: str) -> Iterator[tuple[str, Iterator[bytes]]]:
    """The zip's entries: a manifest, one JSON-lines file per owned table, then stored files."""
    user = _require_user(user_id)
    manifest = {
        "user": user.to_dict(),
        "exported_at": datetime.now(UTC).isoformat(),
        "format": "one JSON object per line in tables/<table>.jsonl; stored files under files/",
        "tables": [t.name for t, _ in owned_tables(user_id)],
    }
    yield "manifest.json", iter([json.dumps(manifest, indent=2).encode()])
    for table, condition in owned_tables(user_id):
        yield f"tables/{table.name}.jsonl", _table_lines(table, condition)
    for exporter in hooks.current().file_export:
        yield from exporter(user_id)


def export_stream(user_id: str) -> Iterator[bytes]:
    """The user's export as a streamed zip."""
    _require_user(user_id)
    return stream_zip(export_entries(user_id))


def export(user_id: str) -> Download:
    """The user's export as a download: the streamed zip, named after the account."""
    return Download(export_stream(user_id), "application/zip", filename=f"framewise-export-{user_id}.zip")


def erase_user(user_id: str) -> dict[str, int]:
    """Delete the account and everything it owns; returns what was removed, by kind."""
    _require_user(user_id)
    removed: dict[str, int] = {}
    for eraser in hooks.current().erase:
        for key, count in eraser(user_id).items():
            removed[key] = removed.get(key, 0) + count
    for table, condition in reversed(owned_tables(user_id)):
        count = db.session.execute(delete(table).where(condition)).rowcount or 0
        if count:
            removed[f"rows.{table.name}"] = count
    db.session.commit()
    signins.end_all(user_id)  # its tokens die with it, and Redis keeps no list under its id
    log.info("account erased", extra={"user_id": user_id, "removed": removed})
    return removed
