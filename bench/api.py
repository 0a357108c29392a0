#!/usr/bin/env python3
"""API throughput: the real app against a bare Flask hello-world, both under gunicorn.

One command: `.venv/bin/python bench/api.py [--duration 10] [--connections 16]`.
Both apps run in the same run with the same gunicorn settings (gunicorn.conf.py, as
`make run` uses), on free loopback ports, with a real Redis (backend_app.local_redis)
and a temp SQLite database. Load comes from `wrk` when installed (Debian package `wrk`),
otherwise from a Python generator with keep-alive connections in threads; the output says
which. Targets (issue 2): >= 0.7 of the bare app's requests/s, p99 < 50 ms at 16 connections.
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend_app import local_redis  # noqa: E402

RATIO_TARGET = 0.7
P99_TARGET_MS = 50.0
BARE_APP = textwrap.dedent("""
    from flask import Flask, jsonify

    app = Flask(__name__)


    @app.get("/ping")
    def ping():
        return jsonify({"pong": True})
""")


def prepare_database(tmp: Path, redis_url: str) -> tuple[dict[str, str], str]:
    """Migrate a temp SQLite file, create a user with a few sessions; returns (env, token)."""
    env = {
        **os.environ,
        "DATA_DIR": str(tmp / "data"),
        "SQLITE_PATH": str(tmp / "bench.db"),
        "REDIS_URL": redis_url,
        "APP_ENV": "development",
        "ACCESS_TOKEN_MINUTES": "120",
        "DATABASE_URL": "",
        "PYTHONUNBUFFERED": "1",
    }
    script = textwrap.dedent("""
        from flask_migrate import upgrade
        from flask_jwt_extended import create_access_token
        from backend_app import create_app
        from backend_app.services import accounts, sessions
        from backend_app.tenancy import Tenant
        app = create_app()
        with app.app_context():
            upgrade(directory="migrations")
            user = accounts.register("bench@example.test", "bench password 1")
            for n in range(5):
                sessions.create(Tenant(user.id), f"bench session {n}")
            print(create_access_token(identity=user.id, additional_claims={"role": user.role}))
    """)
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, check=True, capture_output=True, text=True, timeout=120
    )
    return env, out.stdout.strip().splitlines()[-1]


def serve(app_spec: str, cwd: Path, env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    """Start gunicorn with the project's settings on a free port; wait until /ping answers."""
    port = local_redis.free_port()
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        str(ROOT / "gunicorn.conf.py"),
        app_spec,
        "--bind",
        f"127.0.0.1:{port}",
    ]
    handle = log.open("wb")
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn {app_spec} exited; see {log}")
        try:
            with urllib.request.urlopen(base + "/ping", timeout=2):
                wait_idle(proc)  # one worker answering is not all of them having booted
                return proc, base
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"gunicorn {app_spec} did not answer within 60 s; see {log}")


def wait_idle(proc: subprocess.Popen, timeout_s: float = 120.0) -> None:
    """Wait until gunicorn's processes stop burning CPU (every worker has imported the app)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        before = cpu_seconds(proc)
        time.sleep(1.0)
        if cpu_seconds(proc) - before < 0.05:
            return
    raise RuntimeError("gunicorn did not settle")


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def load_wrk(url: str, headers: dict[str, str], duration: float, connections: int) -> dict:
    args = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{int(duration)}s", "--latency", "--timeout", "5s"]
    for key, value in headers.items():
        args += ["-H", f"{key}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True, timeout=duration + 60).stdout
    pct = {m[0]: _ms(m[1], m[2]) for m in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": rps,
        "p50": pct["50"],
        "p99": pct["99"],
        "errors": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(0) if errors else "",
    }


def load_python(url: str, headers: dict[str, str], duration: float, connections: int) -> dict:
    """Keep-alive HTTP/1.1 connections in threads, each sending requests back to back."""
    parsed = urllib.request.urlparse(url)
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    deadline = time.monotonic() + duration

    def run(i: int) -> None:
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=5)
        while (start := time.monotonic()) < deadline:
            try:
                conn.request("GET", parsed.path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors[i] += 1
            except (OSError, http.client.HTTPException):
                errors[i] += 1
                conn.close()
                conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=5)
                continue
            latencies[i].append(time.monotonic() - start)
        conn.close()

    began = time.monotonic()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    flat = sorted(x for lst in latencies for x in lst)
    if not flat:
        raise RuntimeError(f"no request to {url} succeeded")
    return {
        "rps": len(flat) / elapsed,
        "p50": flat[len(flat) // 2] * 1000,
        "p99": flat[min(len(flat) - 1, int(len(flat) * 0.99))] * 1000,
        "errors": sum(errors),
        "socket_errors": "",
    }


def cpu_seconds(proc: subprocess.Popen) -> float:
    """CPU time used so far by a gunicorn master and its workers (user + system)."""
    import psutil

    total = 0.0
    root = psutil.Process(proc.pid)
    for p in [root, *root.children(recursive=True)]:
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def measure(
    load, server: subprocess.Popen, url: str, headers: dict[str, str], duration: float, connections: int
) -> dict:
    """Throughput and latency under load, plus server CPU per request (robust on a busy machine)."""
    load(url, headers, min(2.0, duration), connections)  # warm-up: imports, pools, caches
    before = cpu_seconds(server)
    result = load(url, headers, duration, connections)
    result["cpu_ms"] = (cpu_seconds(server) - before) * 1000 / max(result["rps"] * duration, 1)
    return result


def median_of(results: list[dict]) -> dict:
    import statistics

    merged = {key: statistics.median(r[key] for r in results) for key in ("rps", "p50", "p99", "cpu_ms")}
    merged["errors"] = sum(r["errors"] for r in results)
    merged["socket_errors"] = "; ".join(r["socket_errors"] for r in results if r["socket_errors"])
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per measurement")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds; medians are reported")
    parser.add_argument("--python-load", action="store_true", help="use the Python generator even if wrk exists")
    args = parser.parse_args(argv)

    use_wrk = shutil.which("wrk") is not None and not args.python_load
    load = load_wrk if use_wrk else load_python
    generator = (
        "wrk (2 threads)"
        if use_wrk
        else "Python threads with keep-alive connections (wrk not found: apt-get install wrk for a lighter one)"
    )
    tmp = Path(tempfile.mkdtemp(prefix="fw-bench-api-"))
    procs: list[subprocess.Popen] = []
    try:
        redis_port = local_redis.free_port()
        procs.append(local_redis.start(redis_port, tmp / "redis", persist=False))
        env, token = prepare_database(tmp, f"redis://127.0.0.1:{redis_port}/0")
        (tmp / "bare_app.py").write_text(BARE_APP)
        bare, bare_url = serve("bare_app:app", tmp, env, tmp / "bare.log")
        real, real_url = serve("wsgi:app", ROOT, env, tmp / "app.log")
        procs += [bare, real]
        auth = {"Authorization": f"Bearer {token}"}
        with urllib.request.urlopen(urllib.request.Request(real_url + "/api/v1/sessions", headers=auth)) as r:
            assert r.status == 200 and r.read().count(b'"id"') == 5, "the sessions endpoint did not answer as expected"

        targets = [
            ("bare Flask  GET /ping", bare, bare_url + "/ping", {}),
            ("Framewise  GET /ping", real, real_url + "/ping", {}),
            ("Framewise  GET /api/v1/sessions (JWT)", real, real_url + "/api/v1/sessions", auth),
        ]
        # Rounds interleave the targets so a neighbour's burst of CPU does not fall on one of them.
        runs = [
            [
                measure(load, server, url, headers, args.duration, args.connections)
                for _label, server, url, headers in targets
            ]
            for _round in range(args.rounds)
        ]
        rows = [(label, median_of([run[i] for run in runs])) for i, (label, *_rest) in enumerate(targets)]
        return report(rows, generator, args)
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)


def report(rows, generator: str, args) -> int:
    print(
        f"API benchmark: {args.connections} connections, {args.rounds} x {args.duration:g} s per target "
        f"(medians), gunicorn per gunicorn.conf.py, {os.cpu_count()} CPU cores; load: {generator}"
    )
    print(f"{'target':<40} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>6} {'CPU ms/req':>10} {'errors':>6}")
    base = rows[0][1]
    missed = []
    for label, r in rows:
        ratio = r["rps"] / base["rps"]
        print(
            f"{label:<40} {r['rps']:>7.0f} {r['p50']:>7.2f} {r['p99']:>7.2f} {ratio:>6.2f} {r['cpu_ms']:>10.2f} "
            f"{r['errors']:>6}" + (f"  {r['socket_errors']}" if r["socket_errors"] else "")
        )
        if r is not base and ratio < RATIO_TARGET:
            missed.append(f"{label}: ratio {ratio:.2f} < {RATIO_TARGET}")
        if r is not base and r["p99"] >= P99_TARGET_MS:
            missed.append(f"{label}: p99 {r['p99']:.1f} ms >= {P99_TARGET_MS:g} ms")
        if r["errors"]:
            missed.append(f"{label}: {r['errors']} failed requests")
    print(
        "CPU ms/req: server CPU time (master + workers) per request served; steadier than req/s when "
        "other processes compete for the cores."
    )
    print("targets met" if not missed else "targets MISSED: " + "; ".join(missed))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
