"""Operator pins: FEATURE_FLAG_USE_V2 / CANARY_PERCENT win over the stored use_v2 at every start,
are audited when they change it, refuse changes of the pinned fields, and leave rollbacks possible."""

from __future__ import annotations

import pytest

from backend_app import create_app
from backend_app.extensions import db
from backend_app.services import flags
from backend_app.services.flags import bucketing
from backend_app.services.flags.pins import FlagPinned


@pytest.fixture
def restart(app, redis_server, tmp_path):
    """Start another process's app on the same database with these environment values; returns
    what that process serves (its first flag read applies its pins)."""

    def start(**env):
        settings = app.config["SETTINGS"]
        other = create_app(
            {
                "app_env": "test",
                "redis_url": redis_server["url"],
                "data_dir": str(tmp_path / "restarted"),
                "database_url": settings.database_url,
                "sqlite_path": settings.sqlite_path,
                **env,
            }
        )
        with other.app_context():
            view = flags.snapshot()["use_v2"]
            decided = flags.decide(_user_in_canary())
            db.engine.dispose()
        db.session.expire_all()
        return view, decided

    return start


def _user_in_canary(limit: int = 10):
    return next(f"user{i}" for i in range(10_000) if bucketing.bucket("use_v2", f"user{i}") <= limit)


def _audit():
    return [
        (a.actor, a.action, a.before and a.before["enabled"], a.after["enabled"]) for a in flags.audit_log("use_v2")
    ]


def test_a_pin_wins_over_the_stored_flag_at_every_start_and_is_audited_once(app, restart):
    flags.set_flag("use_v2", enabled=True, rollout_percent=100, actor="admin-1")
    view, decided = restart(feature_flag_use_v2=False)
    assert (view.enabled, view.rollout_percent, view.last_actor, view.last_action) == (False, 100, "environment", "pin")
    assert decided == ("v1", "flag off (pinned by environment (FEATURE_FLAG_USE_V2=false))")
    newest = flags.audit_log("use_v2")[0]
    assert newest.reason.startswith("pinned by environment (FEATURE_FLAG_USE_V2=false)")
    # A second process starting with the same pin finds nothing to change: no second audit row.
    restart(feature_flag_use_v2=False)
    assert _audit() == [
        ("environment", "pin", True, False),
        ("admin-1", "update", False, True),
        ("seed", "seed", None, False),
    ]
    # The stored flag is what every process serves, pinned or not.
    assert not flags.get_flag("use_v2").enabled


def test_canary_percent_zero_pins_the_share_and_serves_v1(app, restart):
    flags.set_flag("use_v2", enabled=True, rollout_percent=100, actor="admin-1")
    view, (variant, reason) = restart(canary_percent=0)
    assert (view.enabled, view.rollout_percent) == (True, 0)
    assert variant == "v1" and reason.endswith("> 0) (pinned by environment (CANARY_PERCENT=0))")


def test_while_pinned_the_pinned_field_cannot_be_changed_but_a_rollback_can(app):
    app.config["SETTINGS"] = app.config["SETTINGS"].replace(feature_flag_use_v2=True, canary_percent=20)
    flags.snapshot()  # this process's start: created with the pins
    with pytest.raises(FlagPinned) as refused:
        flags.set_flag("use_v2", enabled=False, rollout_percent=20, actor="admin-1")
    assert refused.value.status == 409 and refused.value.code == "FLAG_PINNED"
    assert "FEATURE_FLAG_USE_V2" in refused.value.message and "restart" in refused.value.message
    assert refused.value.details == {"pinned": [{"field": "enabled", "env": "FEATURE_FLAG_USE_V2", "value": True}]}
    with pytest.raises(FlagPinned, match="CANARY_PERCENT"):
        flags.set_flag("use_v2", enabled=True, rollout_percent=50, actor="admin-1")
    # Values equal to the pins, and other flags, are not refused.
    _, changed = flags.set_flag("use_v2", enabled=True, rollout_percent=20, actor="admin-1", description="v2 paths")
    assert changed
    flags.set_flag("other", enabled=True, rollout_percent=50, actor="admin-1")
    # The emergency rollback stays possible; the pin applies again at the next start.
    _, rolled = flags.rollback("use_v2", actor="admin-1", reason="errors")
    assert rolled and flags.decide(_user_in_canary()) == ("v1", "rolled back")


def test_unset_pins_leave_the_database_in_charge(app, restart):
    flags.set_flag("use_v2", enabled=True, rollout_percent=40, actor="admin-1")
    view, decided = restart(feature_flag_use_v2=None, canary_percent=None)
    assert (view.enabled, view.rollout_percent, view.last_action) == (True, 40, "update")
    assert decided[0] == "v2"
    flags.set_flag("use_v2", enabled=False, rollout_percent=0, actor="admin-1")  # nothing pinned: allowed


@pytest.mark.sqlite_only
def test_the_cli_shows_the_pin_and_refuses_a_change(app):
    app.config["SETTINGS"] = app.config["SETTINGS"].replace(feature_flag_use_v2=False)
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["flags", "list"])
    assert "pinned by environment (FEATURE_FLAG_USE_V2=false)" in listed.output
    refused = runner.invoke(args=["flags", "set", "use_v2", "--enabled", "--percent", "10"])
    assert refused.exit_code == 1 and "FLAG_PINNED" in refused.output
    assert not flags.get_flag("use_v2").enabled
