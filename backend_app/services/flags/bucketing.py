"""Sticky bucketing, compatible with Unleash's gradual rollout strategies.

A user's bucket for a flag is Unleash's ``normalizedValue``: murmur3 (32-bit, seed 0,
unsigned) of ``"<group id>:<user id>"``, modulo 100, plus 1 — a number 1..100 that never
changes for that user and flag. Framewise uses the flag key as the group id, so a user is
in the canary when the flag is enabled and ``bucket <= rollout_percent``: raising the
percentage only adds users, lowering it only removes them.

``feature_enabled`` evaluates Unleash client-specification features (strategies
``default``, ``gradualRolloutUserId`` and ``flexibleRollout`` with ``default``, ``userId``,
``sessionId`` or a custom-field stickiness); tests run the spec's cases against it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import mmh3

NORMALIZER = 100


def normalized_value(identifier: str, group_id: str, normalizer: int = NORMALIZER, seed: int = 0) -> int:
    """Unleash's normalizedValue: 1..normalizer, stable for (group id, identifier)."""
    return mmh3.hash(f"{group_id}:{identifier}", seed, signed=False) % normalizer + 1


def bucket(flag_key: str, user_id: str) -> int:
    """The user's sticky bucket (1..100) for this flag."""
    return normalized_value(str(user_id), flag_key)


def in_rollout(percent: int, value: int) -> bool:
    """Unleash's rule: a 0% rollout includes nobody, otherwise bucket <= percent."""
    return percent > 0 and value <= percent


def _percent(raw: Any) -> int:
    try:
        return max(0, min(100, int(float(raw))))
    except (TypeError, ValueError):
        return 0


def _sticky_value(stickiness: str, context: Mapping[str, Any]) -> str | None:
    """The context value a flexible rollout hashes; None means the strategy is off."""
    if stickiness == "default":
        # Unleash: userId, else sessionId, else a random value (so 100% is still everybody).
        return context.get("userId") or context.get("sessionId") or str(random.randint(1, 10_000))
    if stickiness in ("userId", "sessionId"):
        return context.get(stickiness) or None
    value = context.get(stickiness, (context.get("properties") or {}).get(stickiness))
    return str(value) if value not in (None, "") else None


def strategy_enabled(strategy: Mapping[str, Any], context: Mapping[str, Any], feature_name: str) -> bool:
    """Whether one Unleash strategy includes the context (unknown strategies never do)."""
    name = strategy.get("name")
    params = strategy.get("parameters") or {}
    if strategy.get("constraints"):
        return False  # constraints are not part of Framewise's canary; never guess their outcome
    if name == "default":
        return True
    if name == "gradualRolloutUserId":
        user_id = context.get("userId")
        if not user_id:
            return False
        return in_rollout(
            _percent(params.get("percentage")), normalized_value(str(user_id), str(params.get("groupId", "")))
        )
    if name == "flexibleRollout":
        value = _sticky_value(str(params.get("stickiness") or "default"), context)
        if value is None:
            return False
        group_id = str(params.get("groupId") or feature_name)
        return in_rollout(_percent(params.get("rollout")), normalized_value(str(value), group_id))
    return False


def feature_enabled(feature: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    """Unleash's isEnabled for one feature: enabled and at least one strategy includes the context."""
    if not feature.get("enabled"):
        return False
    strategies = feature.get("strategies") or []
    if not strategies:
        return True
    return any(strategy_enabled(s, context, feature["name"]) for s in strategies)
