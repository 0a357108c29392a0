"""Flags: Unleash conformance, sticky distribution, seeding, decisions, Redis blips, the guard."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from backend_app import create_app
from backend_app.extensions import db
from backend_app.models import Flag, FlagAudit
from backend_app.services import flags
from backend_app.services.flags import bucketing, guard
from tests.helpers import ROOT

CONFORMANCE = ROOT.parent / "shared" / "conformance" / "unleash"
STRATEGIES = {"gradualRolloutUserId", "flexibleRollout"}


def _conformance_cases():
    if not CONFORMANCE.is_dir():
        return []
    cases = []
    for path in sorted(CONFORMANCE.glob("*.json")):
        spec = json.loads(path.read_text())
        features = {f["name"]: f for f in spec["state"]["features"]}
        for case in spec["tests"]:
            feature = features[case["toggleName"]]
            if {s["name"] for s in feature["strategies"]} & STRATEGIES:
                cases.append(pytest.param(feature, case, id=f"{path.stem}: {case['description']}"))
    return cases


@pytest.mark.skipif(not CONFORMANCE.is_dir(), reason=f"Unleash conformance cases not found in {CONFORMANCE}")
@pytest.mark.parametrize("feature,case", _conformance_cases())
def test_unleash_client_specification(feature, case):
    assert bucketing.feature_enabled(feature, case["context"]) is case["expectedResult"]


@pytest.mark.skipif(not CONFORMANCE.is_dir(), reason=f"Unleash conformance cases not found in {CONFORMANCE}")
def test_conformance_files_cover_both_strategies_and_stickiness():
    cases = _conformance_cases()
    assert len(cases) >= 15
    strategies = {
        (s["name"], (s.get("parameters") or {}).get("stickiness")) for p in cases for s in p.values[0]["strategies"]
    }
    assert {("gradualRolloutUserId", None), ("flexibleRollout", "default"), ("flexibleRollout", "userId")} <= strategies


def test_bucket_is_unleash_normalized_value():
    # murmur3_32("use_v2:<id>", seed 0, unsigned) % 100 + 1, the same number Unleash SDKs compute
    assert bucketing.bucket("Feature.B3", "122") == bucketing.normalized_value("122", "Feature.B3")
    assert bucketing.normalized_value("122", "AB12A") <= 50 < bucketing.normalized_value("155", "AB12A")
    assert all(1 <= bucketing.bucket("use_v2", f"u{i}") <= 100 for i in range(1000))


@pytest.mark.parametrize("percent", [1, 5, 10, 25, 50, 75, 90])
def test_distribution_over_10000_users_within_two_points(percent):
    users = [f"{i:032x}" for i in range(10_000)]
    share = sum(bucketing.bucket("use_v2", u) <= percent for u in users) / len(users) * 100
    assert abs(share - percent) <= 2, share


def test_raising_the_percentage_only_adds_users():
    users = [f"user-{i}" for i in range(5000)]
    previous: set[str] = set()
    for percent in range(0, 101):
        current = {u for u in users if bucketing.in_rollout(percent, bucketing.bucket("use_v2", u))}
        assert previous <= current, f"users flipped out when going to {percent}%"
        previous = current
    assert previous == set(users)


@pytest.mark.settings(feature_flag_use_v2=True, canary_percent=30)
def test_use_v2_is_created_with_the_pins_on_first_start(app):
    view = flags.snapshot()["use_v2"]
    assert (view.enabled, view.rollout_percent, view.last_actor) == (True, 30, "seed")
    audits = db.session.execute(select(FlagAudit)).scalars().all()
    assert [(a.actor, a.action, a.after["rollout_percent"]) for a in audits] == [("seed", "seed", 30)]
    assert "FEATURE_FLAG_USE_V2=true" in audits[0].reason and "CANARY_PERCENT=30" in audits[0].reason


def test_without_pins_use_v2_starts_off_and_the_table_rules(app, redis_server, tmp_path):
    view = flags.snapshot()["use_v2"]
    assert (view.enabled, view.rollout_percent) == (False, 0)
    flags.set_flag("use_v2", enabled=True, rollout_percent=5, actor="someone")
    restarted = create_app(
        {
            "app_env": "test",
            "redis_url": redis_server["url"],
            "data_dir": str(tmp_path / "d2"),
            "database_url": app.config["SETTINGS"].database_url,
            "sqlite_path": app.config["SETTINGS"].sqlite_path,
        }
    )
    with restarted.app_context():
        again = flags.snapshot()["use_v2"]
        db.engine.dispose()
    assert (again.enabled, again.rollout_percent) == (True, 5)
    assert [a.action for a in flags.audit_log("use_v2")] == ["update", "seed"]


def _user_with_bucket(predicate, key="use_v2"):
    return next(f"user{i}" for i in range(10_000) if predicate(bucketing.bucket(key, f"user{i}")))


def test_decide_gives_variant_and_reason(app):
    inside = _user_with_bucket(lambda b: b <= 40)
    outside = _user_with_bucket(lambda b: b > 40)
    assert flags.decide(inside) == ("v1", "flag off")
    flags.set_flag("use_v2", enabled=True, rollout_percent=40, actor="t")
    n_in, n_out = bucketing.bucket("use_v2", inside), bucketing.bucket("use_v2", outside)
    assert flags.decide(inside) == ("v2", f"in canary (bucket {n_in} <= 40)")
    assert flags.decide(outside) == ("v1", f"out of canary (bucket {n_out} > 40)")
    assert flags.decide(None) == ("v1", "no user")
    flags.rollback("use_v2", actor="t", reason="bad numbers")
    assert flags.decide(inside) == ("v1", "rolled back")
    flags.set_flag("use_v2", enabled=False, rollout_percent=40, actor="t")
    assert flags.decide(inside) == ("v1", "rolled back")  # unchanged: no new audit entry
    flags.set_flag("use_v2", enabled=True, rollout_percent=0, actor="t")
    assert flags.decide(inside)[0] == "v1"


def test_changes_are_audited_with_before_after_and_reason(app):
    flags.snapshot()
    flags.set_flag("use_v2", enabled=True, rollout_percent=10, actor="admin-1", reason="start canary")
    _, changed = flags.set_flag("use_v2", enabled=True, rollout_percent=10, actor="admin-1")
    assert changed is False
    flags.rollback("use_v2", actor="admin-2", reason="errors in v2")
    rows = flags.audit_log("use_v2")
    assert [(r.actor, r.action) for r in rows] == [("admin-2", "rollback"), ("admin-1", "update"), ("seed", "seed")]
    assert rows[0].before["enabled"] is True and rows[0].after["enabled"] is False
    assert rows[0].after["rollout_percent"] == 10 and rows[0].reason == "errors in v2"
    flag = db.session.get(Flag, "use_v2")
    db.session.refresh(flag)
    assert (flag.enabled, flag.updated_by) == (False, "admin-2")


def test_a_change_whose_redis_bump_was_lost_reaches_a_process_within_a_second(app, monkeypatch):
    """A rollback made while Redis was down bumps no token, and Redis comes back with the old
    one: a process that did not look during the outage kept its flags for up to 30 s."""
    import time

    from backend_app.services.flags import changes, state
    from tests.helpers import wait_until

    flags.set_flag("use_v2", enabled=True, rollout_percent=100, actor="t")
    user = _user_with_bucket(lambda b: True)
    assert flags.decide(user)[0] == "v2"  # this process's cache holds the flag on
    monkeypatch.setattr(changes, "publish_change", lambda: None)  # the bump (and this process's own notice) lost
    started = time.monotonic()
    flags.rollback("use_v2", actor="t", reason="while Redis was down")
    wait_until(
        lambda: flags.decide(user) == ("v1", "rolled back"),
        timeout_s=5,
        interval_s=0.05,
        message="the rollback to be seen without a version bump",
    )
    assert time.monotonic() - started < state.DB_POLL_S + 0.5


@pytest.mark.sqlite_only
def test_when_redis_blips_a_process_keeps_its_state_and_follows_the_table(app, tmp_path):
    import time

    from backend_app import local_redis
    from tests.helpers import wait_until

    flags.set_flag("use_v2", enabled=True, rollout_percent=100, actor="t")
    user = _user_with_bucket(lambda b: True)
    port = local_redis.free_port()
    own_redis = local_redis.start(port, tmp_path / "own-redis", persist=False)
    other = create_app(
        {
            "app_env": "test",
            "log_level": "ERROR",
            "sqlite_path": app.config["SETTINGS"].sqlite_path,
            "data_dir": str(tmp_path / "other"),
            "redis_url": f"redis://127.0.0.1:{port}/0",
        }
    )
    try:
        with other.app_context():
            assert flags.decide(user)[0] == "v2"
        own_redis.terminate()
        own_redis.wait(timeout=10)
        time.sleep(0.3)
        with other.app_context():
            assert flags.decide(user)[0] == "v2"  # last known state, no error
            assert other.test_client().get("/ping").headers["X-Variant"] == "v1"
        flags.rollback("use_v2", actor="t", reason="while the other process's Redis is down")
        with other.app_context():
            wait_until(
                lambda: flags.decide(user) == ("v1", "rolled back"),
                timeout_s=5,
                message="the process without Redis to read the change from the table",
            )
            db.engine.dispose()
    finally:
        if own_redis.poll() is None:
            own_redis.terminate()


@pytest.mark.settings(guard_min_samples=10, guard_error_rate=0.2, guard_window_s=60)
def test_guard_rolls_back_past_the_threshold_only(app):
    flags.set_flag("use_v2", enabled=True, rollout_percent=50, actor="t")
    for _ in range(8):
        assert guard.record(False) is False
    assert guard.record(True) is False  # 1/9: below the minimum sample count anyway
    assert guard.record(True) is False  # 2/10 = 20%: not above the threshold
    assert flags.snapshot()["use_v2"].enabled
    assert guard.record(True) is True  # 3/11 > 20%
    view = flags.snapshot()["use_v2"]
    assert (view.enabled, view.rollout_percent, view.last_actor, view.last_action) == (False, 50, "guard", "guard")
    assert "3/11" in view.last_reason and "20.0%" in view.last_reason
    assert guard.status()["reason"] == view.last_reason
    assert guard.window_counts() == (0, 0)
    flags.set_flag("use_v2", enabled=True, rollout_percent=50, actor="t")
    assert guard.status() is None


@pytest.mark.settings(guard_min_samples=20, guard_error_rate=0.2, guard_window_s=120)
def test_guard_trips_when_successes_bring_an_erring_window_up_to_the_minimum(app):
    """Errors first, then successes: the window reaches GUARD_MIN_SAMPLES at 40 % errors on a
    success. The guard looked only after errors, so it stayed on until the next one."""
    flags.set_flag("use_v2", enabled=True, rollout_percent=100, actor="t")
    assert not any(guard.record(True) for _ in range(10))  # 10 samples: under the minimum
    assert not any(guard.record(False) for _ in range(9))  # 19
    assert guard.record(False) is True  # 20 samples, 10 errors
    assert not flags.snapshot()["use_v2"].enabled


@pytest.mark.settings(guard_min_samples=5, guard_error_rate=0.2, guard_window_s=60)
def test_guard_without_errors_in_the_window_never_evaluates(app, monkeypatch):
    flags.set_flag("use_v2", enabled=True, rollout_percent=100, actor="t")
    monkeypatch.setattr(guard, "evaluate", lambda *a, **k: pytest.fail("evaluated without an error in the window"))
    assert not any(guard.record(False) for _ in range(30))


@pytest.mark.sqlite_only
def test_rollback_reaches_a_running_rq_worker_within_one_second(app, start_worker, tmp_path):
    import time

    from backend_app.models import Job
    from backend_app.queue.enqueue import submit
    from tests.helpers import wait_until
    from tests.services import flag_kinds  # noqa: F401  (registers test_flag_probe here too)

    flags.set_flag("use_v2", enabled=True, rollout_percent=100, actor="t")
    start_worker(1, extra_env={"JOB_MODULES": "tests.services.flag_kinds"})
    out = tmp_path / "probe.txt"
    job = submit("test_flag_probe", user_id=None, payload={"out": str(out), "seconds": 3.5})
    wait_until(
        lambda: out.exists() and len(out.read_text().splitlines()) >= 5, timeout_s=60, message="the probe job to start"
    )
    flags.rollback("use_v2", actor="t", reason="worker propagation test")
    rolled_at = time.time()

    def finished() -> bool:
        db.session.expire_all()
        return db.session.get(Job, job.id).is_finished

    wait_until(finished, timeout_s=60, message="the probe job to finish")
    samples = [(float(t), v) for t, v in (line.split() for line in out.read_text().splitlines())]
    assert any(v == "v2" for t, v in samples if t < rolled_at)
    late = [v for t, v in samples if t > rolled_at + 1.0]
    assert len(late) >= 10 and set(late) == {"v1"}
