#!/usr/bin/env python3
"""`make dev` supervisor: restart the web server or the worker within a second of a code change.

A fresh Python process spends seconds importing Flask, SQLAlchemy, openai, RQ…; our own
code imports in a fraction of that. So this parent imports the third-party modules the
role needs once, then forks a child that imports our code and serves. watchfiles (Rust
notify underneath) reports changes; on one, the child gets SIGINT (RQ's warm shutdown,
the web server's clean stop), and a new child is forked from the still-warm parent.

    python scripts/devloop.py web HOST PORT     # Werkzeug server, threaded; .py and templates
    python scripts/devloop.py worker            # the RQ worker; .py only
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from watchfiles import DefaultFilter, PythonFilter, watch

ROOT = Path(__file__).resolve().parent.parent
OURS = ("backend_app", "wsgi", "worker")


class TemplateAndPythonFilter(DefaultFilter):
    """Python files plus templates (the web server re-reads both on restart)."""

    def __call__(self, change, path: str) -> bool:
        return super().__call__(change, path) and path.endswith((".py", ".html", ".jinja", ".j2"))


def run_web(host: str, port: int) -> None:
    from werkzeug.serving import run_simple

    from wsgi import app

    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


def run_worker() -> None:
    import worker

    sys.exit(worker.main([]))


def third_party_modules(role: str) -> list[str]:
    """Top-level third-party modules the role imports, found by importing it in a throwaway child."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: import our code, report what came with it, leave
        os.close(read)
        try:
            __import__("wsgi" if role == "web" else "worker")
        except Exception:
            pass  # a broken edit: the real child will report it
        names = {
            name.split(".")[0]
            for name, module in list(sys.modules.items())
            if getattr(module, "__file__", None) and "-packages" in (module.__file__ or "")
        }
        os.write(write, "\n".join(sorted(names - set(OURS))).encode())
        os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode().split()


def warm(role: str) -> None:
    for name in third_party_modules(role):
        try:
            __import__(name)
        except Exception:
            pass


def start_child(role: str, args: list[str]) -> int:
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        code = 0
        try:
            run_web(args[0], int(args[1])) if role == "web" else run_worker()
        except KeyboardInterrupt:
            pass
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
        except BaseException:  # a broken edit: show it, wait for the next change
            import traceback

            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # never fall back into the parent's loop
    return pid


def stop_child(pid: int, timeout_s: float = 10.0) -> None:
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def main(argv: list[str]) -> int:
    role, args = argv[0], argv[1:]
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    paths = [ROOT / "backend_app", ROOT / ("wsgi.py" if role == "web" else "worker.py")]
    if role == "web":
        paths.append(ROOT / "templates")
    watch_filter = TemplateAndPythonFilter() if role == "web" else PythonFilter()
    warm(role)
    child = start_child(role, args)
    stopping = False

    def stop(*_args) -> None:
        nonlocal stopping
        stopping = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        for changes in watch(*paths, watch_filter=watch_filter, debounce=200, step=50):
            names = sorted({Path(p).name for _c, p in changes})
            print(f"{role}: {', '.join(names)} changed; restarting", flush=True)
            stop_child(child)
            child = start_child(role, args)
    except KeyboardInterrupt:
        pass
    finally:
        stop_child(child)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
