"""Feature flags: stored flags with an audit trail, sticky canary bucketing, propagation
to every process within a second, one-step rollback and an automatic guard.

Modules: ``bucketing`` (Unleash-compatible hashing, pure), ``state`` (each process's
cached view, refreshed through a Redis version token), ``changes`` (audited writes),
``guard`` (v2 error-rate window in Redis). The request hooks live in
``backend_app.canary``.
"""

from __future__ import annotations

from flask import current_app

from backend_app.services.flags import pins
from backend_app.services.flags.bucketing import bucket
from backend_app.services.flags.changes import audit_log, get_flag, list_flags, rollback, set_flag
from backend_app.services.flags.state import USE_V2, FlagView, snapshot

__all__ = [
    "USE_V2",
    "FlagView",
    "audit_log",
    "bucket",
    "decide",
    "get_flag",
    "is_enabled_for",
    "list_flags",
    "pinned_by_environment",
    "pins",
    "rollback",
    "set_flag",
    "snapshot",
]


def decide(user_id: str | None, flag_key: str = USE_V2) -> tuple[str, str]:
    """(variant, reason) for a user under the flag, from this process's fresh view.

    Reasons: "no user", "flag off", "rolled back", "in canary (bucket N <= P)",
    "out of canary (bucket N > P)" (ASCII "<=": header values must be latin-1), followed by
    " (pinned by environment (FEATURE_FLAG_USE_V2=false))" when an operator pin holds the value
    that sent the user to v1.
    """
    if not user_id:
        return "v1", "no user"
    view = snapshot().get(flag_key)
    if view is None or not view.enabled:
        reason = "rolled back" if view is not None and view.rolled_back else "flag off"
        return "v1", _with_pin(reason, flag_key, "enabled", False)
    n = bucket(flag_key, user_id)
    if n <= view.rollout_percent:
        return "v2", f"in canary (bucket {n} <= {view.rollout_percent})"
    return "v1", _with_pin(
        f"out of canary (bucket {n} > {view.rollout_percent})", flag_key, "rollout_percent", view.rollout_percent
    )


def pinned_by_environment(flag_key: str) -> list[dict]:
    """The operator pins on a flag, ``[{field, env, value}]`` (empty: the stored flag rules)."""
    return [pin.to_dict() for pin in pins.pins(current_app.config["SETTINGS"], flag_key)]


def _with_pin(reason: str, flag_key: str, field: str, value) -> str:
    held = [p for p in pins.pins(current_app.config["SETTINGS"], flag_key) if p.field == field and p.value == value]
    return f"{reason} ({pins.describe(held)})" if held else reason


def is_enabled_for(user_id: str | None, flag_key: str = USE_V2) -> bool:
    """Whether the user is in the flag's canary right now (usable in workers as well as requests)."""
    return decide(user_id, flag_key)[0] == "v2"
