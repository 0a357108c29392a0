#!/usr/bin/env python3
"""Uploads: streaming through the app, measured on the real server.

One command: `.venv/bin/python bench/uploads.py [--mb 256]`.
Runs the app under gunicorn (gunicorn.conf.py, as `make run` does) with local storage, a real
Redis and a temp SQLite database, then sends one file of --mb megabytes three ways:
  * direct: `POST /uploads/init` → PUT to the signed URL → `POST /uploads/complete`
  * one-shot: multipart `POST /api/v1/uploads`
and, for scale, a plain copy of the same bytes to a file on the same disk.
Reported: MB/s of each, and the growth of the gunicorn workers' peak RSS (VmHWM) during each
upload. Target: peak RSS grows by less than 64 MB for any upload size (the body is streamed
to disk, never held in memory). Exit status 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from api import prepare_database, serve  # noqa: E402  (bench/api.py: temp database + gunicorn)

from backend_app import local_redis  # noqa: E402

RSS_GROWTH_TARGET_MB = 64
CHUNK = 1 << 20


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(p) for p in text]
    return found


def _peak_rss_mb(pids: list[int]) -> float:
    """Sum over the workers of the peak resident set size (VmHWM), MB."""
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1])
    return total / 1024


def _body(path: Path):
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def direct(base: str, headers: dict, session_id: str, path: Path) -> float:
    size = path.stat().st_size
    ticket = requests.post(
        f"{base}/api/v1/uploads/init",
        headers=headers,
        timeout=30,
        json={"filename": "bench.mp4", "content_type": "video/mp4", "file_size": size, "session_id": session_id},
    )
    ticket.raise_for_status()
    ticket = ticket.json()
    started = time.perf_counter()
    with path.open("rb") as handle:  # a file object: requests streams it with its Content-Length
        put = requests.put(ticket["upload_url"], data=handle, headers=ticket["headers"], timeout=600)
    put.raise_for_status()
    done = requests.post(
        f"{base}/api/v1/uploads/complete", headers=headers, timeout=60, json={"analysis_id": ticket["analysis_id"]}
    )
    done.raise_for_status()
    return time.perf_counter() - started


def one_shot(base: str, headers: dict, session_id: str, path: Path) -> float:
    started = time.perf_counter()
    with path.open("rb") as handle:
        response = requests.post(
            f"{base}/api/v1/uploads",
            headers=headers,
            timeout=600,
            data={"session_id": session_id},
            files={"file": ("bench.mp4", handle, "video/mp4")},
        )
    response.raise_for_status()
    return time.perf_counter() - started


def disk_copy(path: Path, target: Path) -> float:
    started = time.perf_counter()
    with target.open("wb") as out:
        for chunk in _body(path):
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return time.perf_counter() - started


def make_file(path: Path, mb: int) -> None:
    """An MP4-looking file (an ftyp box, then noise) so the upload checks accept it."""
    with path.open("wb") as out:
        out.write(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2")
        for _ in range(mb):
            out.write(os.urandom(CHUNK))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=256)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="fw-bench-uploads-"))
    redis_port = local_redis.free_port()
    redis = local_redis.start(redis_port, tmp / "redis", persist=False)
    server = None
    try:
        env, token = prepare_database(tmp, f"redis://127.0.0.1:{redis_port}/0")
        env = {**env, "MAX_UPLOAD_BYTES": str((args.mb + 8) << 20)}
        server, base = serve("wsgi:app", ROOT, env, tmp / "gunicorn.log")
        headers = {"Authorization": f"Bearer {token}"}
        session_id = requests.get(f"{base}/api/v1/sessions", headers=headers, timeout=10).json()["sessions"][0]["id"]
        source = tmp / "source.bin"
        make_file(source, args.mb)
        workers = _children(server.pid)
        rows = [("disk copy (same bytes, same disk)", disk_copy(source, tmp / "copy.bin"), None)]
        for name, run in (("direct: signed PUT + complete", direct), ("one-shot multipart POST", one_shot)):
            before = _peak_rss_mb(workers)
            seconds = run(base, headers, session_id, source)
            rows.append((name, seconds, _peak_rss_mb(workers) - before))
        return report(rows, args.mb)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        redis.terminate()
        redis.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


def report(rows, mb: int) -> int:
    print(f"\nupload of {mb} MB (gunicorn gthread, local storage)\n")
    print(f"{'path':<36} {'seconds':>8} {'MB/s':>8} {'peak RSS growth':>16}")
    ok = True
    for name, seconds, growth in rows:
        shown = "-" if growth is None else f"{growth:.1f} MB"
        print(f"{name:<36} {seconds:>8.2f} {mb / seconds:>8.1f} {shown:>16}")
        if growth is not None and growth >= RSS_GROWTH_TARGET_MB:
            ok = False
    print(f"\ntarget: peak RSS growth < {RSS_GROWTH_TARGET_MB} MB per upload: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
