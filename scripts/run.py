#!/usr/bin/env python3
"""`make run`: everything on one machine — Redis, migrations, admin, worker, web.

Ctrl-C stops every process this script started. `--dev` reloads the web server on code
and template changes and restarts the worker on code changes (see `make dev`).

A worker that exits (a crash, the OOM killer, a kill) is started again, after a pause that
doubles while it keeps exiting soon after its start (1 s up to 30 s), and the output says so;
the web server and the embedded Redis are not restarted: gunicorn already restarts its own
workers, so its master exiting means something `make run` cannot fix (the port, the settings),
and everything stops with the reason.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

from dotenv import load_dotenv  # noqa: E402

load_dotenv(ROOT / ".env")

from backend_app import create_app, local_redis  # noqa: E402
from backend_app.errors import AppError  # noqa: E402
from backend_app.settings import SettingsError, load_settings  # noqa: E402

COLORS = {"web": "\033[36m", "worker": "\033[35m", "redis": "\033[33m"}


def pipe_output(name: str, proc: subprocess.Popen) -> None:
    """Prefix each line of a child's output with its name, so logs interleave readably."""
    color = COLORS.get(name, "") if sys.stdout.isatty() else ""
    reset = "\033[0m" if color else ""
    for line in iter(proc.stdout.readline, b""):
        sys.stdout.write(f"{color}{name:>6} |{reset} {line.decode(errors='replace')}")
        sys.stdout.flush()


def spawn(name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
    proc = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
    )
    threading.Thread(target=pipe_output, args=(name, proc), daemon=True).start()
    return proc


def wait_healthy(url: str, procs: list[tuple[str, subprocess.Popen]], timeout_s: float = 60.0) -> bool:
    """Whether ``url`` answers 200 before the time is up; False as soon as one of ``procs`` exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(proc.poll() is not None for _name, proc in procs):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except Exception:
            pass
        time.sleep(0.3)
    return False


def prepare(settings) -> str | None:
    """Migrate the database and make sure an admin exists; returns a generated password."""
    from flask_migrate import upgrade

    from backend_app.services import accounts

    app = create_app()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        if accounts.admin_exists() and not settings.admin_password:
            return None
        _user, generated = accounts.create_admin(settings.admin_email, settings.admin_password or None)
        return generated


def web_env(env: dict[str, str], settings, dev: bool) -> dict[str, str]:
    """gunicorn's workers share their Prometheus counters through files, so /metrics counts all."""
    if dev or env.get("PROMETHEUS_MULTIPROC_DIR"):
        return env
    metrics_dir = Path(settings.data_dir) / "prometheus"
    shutil.rmtree(metrics_dir, ignore_errors=True)  # counters start from zero with the server
    metrics_dir.mkdir(parents=True)
    return {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}


def commands(settings, dev: bool) -> tuple[list[str], list[str]]:
    """The web and worker command lines."""
    if dev:
        # scripts/devloop.py restarts each from a warm parent when code or templates change.
        devloop = [sys.executable, str(ROOT / "scripts" / "devloop.py")]
        return [*devloop, "web", settings.api_host, str(settings.api_port)], [*devloop, "worker"]
    # Workers, threads and timeouts live in gunicorn.conf.py (bench/api.py serves with it too).
    bind = f"{settings.api_host}:{settings.api_port}"
    web = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app", "--bind", bind]
    return web, [sys.executable, "worker.py"]


class Restarts:
    """When to start a process again: after 1 s, then 2, 4… up to RESTART_MAX_S while it keeps
    exiting within STABLE_AFTER_S of its start; a run longer than that starts the count again."""

    RESTART_MAX_S = 30.0
    STABLE_AFTER_S = 60.0

    def __init__(self) -> None:
        self.count = 0
        self.pause = 0.0
        self.started = time.monotonic()

    def next_pause(self, now: float) -> float:
        if now - self.started >= self.STABLE_AFTER_S:
            self.pause = 0.0
        self.pause = min(self.RESTART_MAX_S, self.pause * 2) if self.pause else 1.0
        self.count += 1
        return self.pause


def supervise(procs: list[tuple[str, subprocess.Popen]], worker: list[str], env: dict[str, str]) -> int:
    """Run until a process other than the worker exits (returns 1); a worker that exits is restarted."""
    restarts = Restarts()
    due: float | None = None
    while True:
        for name, proc in procs:
            if name != "worker" and proc.poll() is not None:
                print(f"{name} exited with code {proc.returncode}; stopping the rest", file=sys.stderr, flush=True)
                return 1
        index, (_name, current) = next((i, p) for i, p in enumerate(procs) if p[0] == "worker")
        now = time.monotonic()
        if due is None and current.poll() is not None:
            _signal_group(current, signal.SIGTERM)  # what it left behind: its scheduler, its periodic process
            pause = restarts.next_pause(now)
            print(
                f"worker exited with code {current.returncode}; restarting it in {pause:.0f} s "
                f"(restart {restarts.count})",
                file=sys.stderr,
                flush=True,
            )
            due = now + pause
        elif due is not None and now >= due:
            procs[index] = ("worker", spawn("worker", worker, env))
            restarts.started, due = now, None
            print(f"worker restarted (pid {procs[index][1].pid})", file=sys.stderr, flush=True)
        time.sleep(0.2)


def worker_env(env: dict[str, str], settings) -> tuple[dict[str, str], int]:
    """The worker's health port: WORKER_HEALTH_PORT when free, else a free one (another checkout's
    worker, or anything else on 8080, must not leave this one without its endpoint)."""
    port = settings.worker_health_port
    if port and local_redis.port_in_use(port):
        free = local_redis.free_port()
        print(f"worker health: port {port} is taken; using {free}")
        port = free
    return {**env, "WORKER_HEALTH_PORT": str(port)}, port


def banner(settings, generated: str | None, health_port: int = 0) -> None:
    print("\n" + "=" * 60)
    print(f"  Framewise is running at http://{settings.api_host}:{settings.api_port}")
    print(f"  admin login: {settings.admin_email}")
    if generated:
        print(f"  password:    {generated}   (shown once; set ADMIN_PASSWORD to choose)")
    elif settings.admin_password:
        print("  password:    the ADMIN_PASSWORD you set")
    else:
        print(
            "  password:    as created on first start (to set a new one: "
            "flask --app wsgi:app users create-admin --email E --password P)"
        )
    if settings.effective_ai_provider == "openai":
        print(f"  AI provider: openai, model {settings.openai_model} at {settings.openai_base_url or 'api.openai.com'}")
    else:
        print("  AI provider: offline (answers built from the analyses; set AI_PROVIDER=openai for a model)")
    if health_port:
        print(f"  worker health: http://{settings.worker_health_host}:{health_port}/ready")
    print("  Ctrl-C stops everything; a worker that exits is restarted.")
    print("=" * 60 + "\n", flush=True)


def stop_all(procs: list[tuple[str, subprocess.Popen]], grace_s: float = 20.0) -> None:
    """Web and worker together (the worker finishes or abandons its job), then Redis."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave processes behind
    apps = [proc for name, proc in procs if name != "redis" and proc.poll() is None]
    for proc in apps:
        _signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for proc in apps:
        _wait_or_kill(proc, deadline - time.monotonic())
    for proc in [proc for name, proc in procs if name == "redis" and proc.poll() is None]:
        proc.terminate()
        _wait_or_kill(proc, 10.0)


def _wait_or_kill(proc: subprocess.Popen, timeout_s: float) -> None:
    try:
        proc.wait(timeout=max(0.1, timeout_s))
    except subprocess.TimeoutExpired:
        _signal_group(proc, signal.SIGKILL)  # its whole group: gunicorn's workers, RQ's horse
        proc.wait(timeout=10)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # every child was started as the leader of its own group
    except ProcessLookupError:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dev", action="store_true", help="reload web and worker on code changes")
    args = parser.parse_args()

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"Framewise cannot start: {exc}", file=sys.stderr)
        return 2
    if local_redis.port_in_use(settings.api_port):
        print(
            f"Framewise cannot start: port {settings.api_port} is already in use (another Framewise? "
            "set API_PORT to a free port).",
            file=sys.stderr,
        )
        return 1
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    procs: list[tuple[str, subprocess.Popen]] = []

    redis_url = urlparse(settings.redis_url)
    if redis_url.hostname in ("127.0.0.1", "localhost") and not local_redis.port_in_use(redis_url.port or 6379):
        print(f"starting embedded Redis on port {redis_url.port or 6379}")
        procs.append(("redis", local_redis.start(redis_url.port or 6379, Path(settings.data_dir) / "redis")))
    else:
        print(
            f"using the Redis already at {settings.redis_url}: if another Framewise checkout started it, "
            "the two share their queues and take each other's jobs; set REDIS_URL to another port for this one"
        )

    signal.signal(signal.SIGTERM, lambda *_: (stop_all(procs), sys.exit(0)))
    try:
        try:
            generated = prepare(settings)
        except AppError as exc:  # ADMIN_EMAIL / ADMIN_PASSWORD refused: say which, no traceback
            print(
                f"Framewise cannot start: {exc.explained({'email': 'ADMIN_EMAIL', 'password': 'ADMIN_PASSWORD'})}",
                file=sys.stderr,
            )
            return 2
        web, worker = commands(settings, args.dev)
        env_of_worker, health_port = worker_env(env, settings)
        procs.append(("worker", spawn("worker", worker, env_of_worker)))
        procs.append(("web", spawn("web", web, web_env(env, settings, args.dev))))
        if not wait_healthy(f"http://{settings.api_host}:{settings.api_port}/health", procs):
            print(
                "Framewise did not become healthy (a process exited, or 60 s passed); see the logs above.",
                file=sys.stderr,
            )
            if generated:  # the admin was created: its password must not be lost with this start
                print(f"The admin {settings.admin_email} was created with the password {generated}", file=sys.stderr)
            return 1
        banner(settings, generated, health_port)
        return supervise(procs, worker, env_of_worker)
    except KeyboardInterrupt:
        print("\nstopping…")
        return 0
    finally:
        stop_all(procs)


if __name__ == "__main__":
    sys.exit(main())
