"""Shared fixtures: a real Redis, SQLite and a throwaway PostgreSQL, the app, real workers.

Every test that takes ``app`` runs once on SQLite and once on PostgreSQL (when the server
binaries exist; otherwise the PostgreSQL run skips and says why). Mark a test
``@pytest.mark.sqlite_only`` when the database engine is beside the point.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest
from rq import Worker

from backend_app import create_app, local_redis
from backend_app import settings as settings_module
from backend_app.extensions import db
from tests.helpers import ROOT, env_for, postgres

# The AI analysers (models, seconds per video) run only in the tests about them, which name them:
# tests that build settings themselves (load_settings({})) get none by default, and so do workers.
settings_module.DEFAULT_ANALYSERS = ("none",)

BASE_SETTINGS = {
    "app_env": "test",
    "login_rate_limit": "1000 per minute",
    "enqueue_backoff_s": 0.01,
    "log_level": "WARNING",
    "llm_probe": False,  # a worker's start-up probe would add calls to the scripted server's count
    "worker_health_port": 0,
    "analysers": ["none"],  # the suite starts many workers; a test that wants the endpoint picks a free port
}


RUN_SUMMARIES: list[str] = []


def pytest_runtest_logreport(report):
    """Collect the "run summary" lines tests record (xdist carries user_properties to the controller)."""
    if report.when == "call":
        RUN_SUMMARIES.extend(str(value) for name, value in report.user_properties if name == "run summary")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test that started real workers shows what they wrote to stderr (the end of it)."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        for log in getattr(item, "worker_logs", []):
            text = log.read_text(errors="replace") if log.exists() else ""
            report.sections.append((f"worker stderr ({log.name}, last 4000 characters)", text[-4000:] or "(empty)"))


def pytest_terminal_summary(terminalreporter):
    for line in RUN_SUMMARIES:
        terminalreporter.write_line(line)


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: run only on SQLite")
    config.addinivalue_line("markers", "settings(**overrides): settings for this test's app")
    config.addinivalue_line("markers", "real_model: runs a real small model (tests/llm_real, tests/llm_server.py)")
    config.addinivalue_line("markers", "xdist_group(name): run on one xdist process (registered here for -p no:xdist)")


def pytest_generate_tests(metafunc):
    if "db_backend" in metafunc.fixturenames:
        backends = ["sqlite"] if metafunc.definition.get_closest_marker("sqlite_only") else ["sqlite", "postgresql"]
        metafunc.parametrize("db_backend", backends, scope="function")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    port = local_redis.free_port()
    proc = local_redis.start(port, tmp_path_factory.mktemp("redis"), persist=False)
    yield {"port": port, "url": f"redis://127.0.0.1:{port}/0", "proc": proc}
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory, redis_server):
    """A migrated SQLite file, copied for each test (migrating once keeps the suite fast)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    app = create_app(
        {**BASE_SETTINGS, "sqlite_path": str(path), "redis_url": redis_server["url"], "data_dir": str(path.parent)}
    )
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(directory=str(ROOT / "migrations"))
        db.engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_server():
    server = postgres.start()
    if isinstance(server, str):
        pytest.skip(server)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_template(postgres_server, redis_server):
    url = postgres_server.create_database("framewise_test")
    app = create_app({**BASE_SETTINGS, "database_url": url, "redis_url": redis_server["url"]})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(directory=str(ROOT / "migrations"))
        db.engine.dispose()
    return url


@pytest.fixture
def db_backend():  # parametrized by pytest_generate_tests
    return "sqlite"


@pytest.fixture
def app(request, db_backend, redis_server, tmp_path):
    overrides = dict(BASE_SETTINGS, data_dir=str(tmp_path / "data"), redis_url=redis_server["url"])
    if db_backend == "sqlite":
        path = tmp_path / "framewise.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        overrides["sqlite_path"] = str(path)
    else:
        overrides["database_url"] = request.getfixturevalue("postgres_template")
    marker = request.node.get_closest_marker("settings")
    if marker:
        overrides.update(marker.kwargs)
    app = create_app(overrides)
    ctx = app.app_context()
    ctx.push()
    yield app
    db.session.remove()
    if db_backend == "postgresql":
        postgres.truncate_all(db)
    db.engine.dispose()
    ctx.pop()
    from redis import Redis

    Redis.from_url(redis_server["url"]).flushdb()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def start_worker(app, request, tmp_path):
    """Start real `python worker.py` processes on this test's database and Redis.

    Each writes its stderr (its horses' and periodic process's too) to a file, shown when the test
    fails; a pipe nobody reads would stop a worker once it had written 64 KB."""
    procs: list[subprocess.Popen] = []
    request.node.worker_logs = logs = []

    def start(count: int = 1, extra_env: dict | None = None, wait: bool = True) -> list[subprocess.Popen]:
        env = {**os.environ, **env_for(app), **(extra_env or {})}
        new = []
        for _ in range(count):
            logs.append(tmp_path / f"worker-{len(logs) + 1}.log")
            with open(logs[-1], "wb") as stderr:  # the child holds its own copy
                new.append(
                    subprocess.Popen(
                        [sys.executable, str(ROOT / "worker.py")],
                        env=env,
                        cwd=ROOT,
                        stdout=subprocess.DEVNULL,
                        stderr=stderr,
                        start_new_session=True,
                    )
                )
            new[-1].log_path = logs[-1]
        procs.extend(new)
        if wait:
            wait_for_workers(app, len([p for p in procs if p.poll() is None]))
        return new

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_for_workers(app, count: int, timeout_s: float = 30.0) -> None:
    from backend_app.extensions import redis_store

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with app.app_context():
            if len(Worker.all(connection=redis_store.conn)) >= count:
                return
        time.sleep(0.1)
    raise AssertionError(f"{count} worker(s) did not register within {timeout_s}s")


@pytest.fixture
def worker(start_worker):
    return start_worker(1)[0]


@pytest.fixture
def fake_openai():
    """A local Chat Completions server; set ``fake_openai.responder`` in the test."""
    from tests.fake_openai import FakeOpenAI

    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def openai_app(app, fake_openai):
    """The app switched to the openai provider, pointed at the local protocol server."""
    from backend_app.adapters.llm_slots import SLOTS

    app.config["SETTINGS"] = app.config["SETTINGS"].replace(
        ai_provider="openai", openai_base_url=fake_openai.base_url, openai_api_key="test-key"
    )
    SLOTS.configure(app.config["SETTINGS"].llm_max_concurrency)  # a lowered limit is this test's own
    return app


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A local S3-compatible server (moto_server) on a free port, shared by the whole run."""
    import urllib.request

    port = local_redis.free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
            break
        except (TimeoutError, OSError):
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.skip(f"moto_server (moto[server]) could not start: {log.read_text()[-300:]}")
    yield {"endpoint_url": url, "proc": proc}
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def s3_app(app, s3_server):
    """The app switched to the S3 storage backend, on a fresh bucket of the local S3 server."""
    import uuid

    app.config["SETTINGS"] = app.config["SETTINGS"].replace(
        storage_backend="s3",
        s3_endpoint_url=s3_server["endpoint_url"],
        s3_bucket=f"fw-{uuid.uuid4().hex[:12]}",
        s3_region="us-east-1",
        s3_access_key_id="test",
        s3_secret_access_key="test",
    )
    return app
