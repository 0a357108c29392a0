"""Test helpers: settings as environment, a throwaway PostgreSQL, polling."""

from __future__ import annotations

import getpass
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import fields
from pathlib import Path

from backend_app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def env_for(app) -> dict[str, str]:
    """The app's settings as environment variables, for worker and web subprocesses."""
    settings: Settings = app.config["SETTINGS"]
    env = {}
    for f in fields(Settings):
        value = getattr(settings, f.name)
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, list):
            value = ",".join(value)
        elif value is None:  # unset stays unset (an empty variable counts as unset)
            value = ""
        env[f.metadata["env"]] = str(value)
    return env


def wait_until(predicate, timeout_s: float = 30.0, interval_s: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {message}")


class _Postgres:
    """A throwaway PostgreSQL cluster on a free port, removed when the session ends."""

    def __init__(self, bindir: Path, datadir: Path, port: int, run_as: list[str]):
        self.bindir, self.datadir, self.port, self.run_as = bindir, datadir, port, run_as

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*self.run_as, *args], check=True, capture_output=True, text=True, timeout=120)

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        subprocess.run(
            [*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def start_gunicorn(app, port: int, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    """A real gunicorn serving ``wsgi:app`` on ``port`` with ``args``, returned once it answers /ping."""
    import sys

    import requests

    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *args, "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env={**os.environ, **env_for(app), "LOG_LEVEL": "WARNING", **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )

    def up() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/ping", timeout=1).status_code == 200
        except requests.RequestException:
            return proc.poll() is not None  # exited: fail below rather than wait

    try:
        wait_until(up, timeout_s=60, message="gunicorn to serve /ping")
        assert proc.poll() is None, "gunicorn exited"
    except BaseException:
        proc.kill()
        raise
    return proc


def _pg_bindir() -> Path | None:
    candidates = [os.environ.get("PG_BINDIR", "")]
    candidates += sorted((str(p) for p in Path("/usr/lib/postgresql").glob("*/bin")), reverse=True)
    for found in (shutil.which("pg_ctl"),):
        if found:
            candidates.append(str(Path(os.path.realpath(found)).parent))
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


def _start_postgres():
    bindir = _pg_bindir()
    if bindir is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's postgresql to run these"
    base = Path(tempfile.mkdtemp(prefix="fw-pg-"))
    datadir = base / "data"
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run PostgreSQL as"
        shutil.chown(base, "postgres")
        os.chmod(base, 0o755)
        run_as = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    user_flag = ["-U", "postgres"]
    try:
        subprocess.run(
            [*run_as, str(bindir / "initdb"), "-D", str(datadir), "-A", "trust", *user_flag, "--no-sync", "-E", "UTF8"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        subprocess.run(
            [
                *run_as,
                str(bindir / "pg_ctl"),
                "-D",
                str(datadir),
                "-w",
                "-l",
                str(base / "pg.log"),
                "-o",
                f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
                f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
                "start",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        return f"could not start PostgreSQL ({getpass.getuser()}): {detail.decode(errors='replace')[:300]}"
    return _Postgres(bindir, datadir, port, run_as)


def truncate_all(db) -> None:
    tables = [t.name for t in db.metadata.sorted_tables]
    if tables:
        from sqlalchemy import text

        with db.engine.begin() as conn:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))


class postgres:
    start = staticmethod(_start_postgres)
    truncate_all = staticmethod(truncate_all)
