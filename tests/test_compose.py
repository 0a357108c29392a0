"""docker-compose.yml and the Dockerfile, read as files (no Docker engine runs in the suite):
every long-running service has a healthcheck and every service a memory limit that, summed,
leaves an 8 GB VPS room for the kernel and the page cache."""

from __future__ import annotations

import re

import yaml

from tests.helpers import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
ONE_SHOTS = {"migrate", "minio-init"}  # compose waits for them to complete, not to be healthy
UNITS = {"k": 1 / 1024, "m": 1, "g": 1024}


def _megabytes(limit: str) -> float:
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)([kmg])b?", str(limit).lower()).groups()
    return float(number) * UNITS[unit]


def test_every_long_running_service_has_a_healthcheck_of_its_own_kind():
    expected = {
        "web": "http://127.0.0.1:8000/ping",
        "worker": "http://127.0.0.1:8080/ready",
        "redis": "redis-cli",
        "postgres": "pg_isready",
        "minio": "mc",
    }
    assert set(SERVICES) - ONE_SHOTS == set(expected)
    for name, probe in expected.items():
        check = SERVICES[name].get("healthcheck")
        assert check and not check.get("disable"), name
        assert probe in " ".join(check["test"]), (name, check["test"])
        assert check.get("interval") and check.get("timeout") and check.get("retries"), name
    for name in ONE_SHOTS:
        assert SERVICES[name]["restart"] == "no" and SERVICES[name]["healthcheck"] == {"disable": True}


def test_every_service_has_a_memory_limit_and_all_fit_an_8_gb_vps():
    limits = {name: _megabytes(service["mem_limit"]) for name, service in SERVICES.items()}
    long_running = sum(mb for name, mb in limits.items() if name not in ONE_SHOTS)
    assert long_running <= 6 * 1024, limits  # 2 GB left to the kernel, the page cache and a one-shot
    assert limits["worker"] >= 1024 and limits["web"] >= 1024, limits  # a video analysis peaks near 300 MB


def test_the_worker_health_port_is_the_one_the_image_exposes_and_listens_on():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^EXPOSE .*\b8080\b", dockerfile, re.M)
    assert "WORKER_HEALTH_PORT=8080" in dockerfile and "WORKER_HEALTH_HOST=0.0.0.0" in dockerfile
    assert "postgresql-client" in dockerfile  # pg_dump for `flask backup create`
