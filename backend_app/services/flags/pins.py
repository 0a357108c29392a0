"""Operator pins: FEATURE_FLAG_USE_V2 and CANARY_PERCENT, when set, hold ``use_v2`` in place.

The original systems' rollback runbook is "set FEATURE_FLAG_USE_V2=false (or CANARY_PERCENT=0)
and restart". So a set variable is an override, not a seed:

- at every start (a process's first read of the flags) the stored flag is set to the pinned
  values, with an audit entry (actor "environment", action "pin") when that changes it;
- while pinned, a change of a pinned field through the admin pages, the API or the CLI is
  refused with ``409 FLAG_PINNED``, which names the variable to unset. A one-step rollback (and
  the canary guard's) stays possible: turning v2 off is the safe direction in an emergency; the
  pin applies again at the next start;
- the flags page, ``/api/v1/flags``, ``/api/runtime-config`` and ``/health`` show the pins
  as "pinned by environment".

Unset (or empty), the database rules, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend_app.errors import Conflict

# flag key -> (flag field, settings attribute, environment variable)
PINNABLE: dict[str, tuple[tuple[str, str, str], ...]] = {
    "use_v2": (
        ("enabled", "feature_flag_use_v2", "FEATURE_FLAG_USE_V2"),
        ("rollout_percent", "canary_percent", "CANARY_PERCENT"),
    )
}
ACTOR = "environment"
LABEL = "pinned by environment"


@dataclass(frozen=True)
class Pin:
    """One flag field held by one environment variable."""

    field: str
    env: str
    value: Any

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "env": self.env, "value": self.value}

    def __str__(self) -> str:
        value = ("true" if self.value else "false") if isinstance(self.value, bool) else self.value
        return f"{self.env}={value}"


class FlagPinned(Conflict):
    code = "FLAG_PINNED"


def pins(settings, key: str) -> list[Pin]:
    """The pins the settings hold on flag ``key`` (none when its variables are unset)."""
    return [
        Pin(name, env, getattr(settings, attr))
        for name, attr, env in PINNABLE.get(key, ())
        if getattr(settings, attr) is not None
    ]


def pinned_values(settings, key: str) -> dict[str, Any]:
    return {pin.field: pin.value for pin in pins(settings, key)}


def describe(found: list[Pin]) -> str:
    """ "pinned by environment (FEATURE_FLAG_USE_V2=false)", or "" without pins."""
    return f"{LABEL} ({', '.join(str(p) for p in found)})" if found else ""


def check_change(settings, key: str, changes: dict[str, Any]) -> None:
    """Refuse a change that moves a pinned field away from its pinned value."""
    moved = [pin for pin in pins(settings, key) if pin.field in changes and changes[pin.field] != pin.value]
    if moved:
        names = ", ".join(pin.env for pin in moved)
        raise FlagPinned(
            f"{key} is {describe(moved)}: the operator's setting wins at every start. "
            f"Unset {names} and restart to change it here (a rollback is still possible).",
            details={"pinned": [pin.to_dict() for pin in moved]},
        )
