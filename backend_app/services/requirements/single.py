"""Evaluate, suggest or rewrite one requirement with the variant the caller was assigned.

v1 is the rule engine. v2 asks the LLM (only with the ``openai`` provider); when v2 fails
the answer is v1's with a ``note`` saying why, and the caller hears of the fallback (the
response says X-Variant: v1 with the reason; its canary guard counts a v2 error). The response
says what ran: ``variant`` (v1/v2), ``requested_variant`` and ``engine``.

A single request (``answer``) answers within ``V2_DEADLINE_S`` (default 2 s) of its arrival:
the rule engine's answer is made first (a few milliseconds), the model gets what is left of the
budget less ``REPLY_RESERVE_S`` to send the answer, and past that its connection is closed and
the ready v1 answer goes out, reason ``v2-timeout``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from backend_app.errors import ValidationError
from backend_app.services import ai
from backend_app.services.requirements import criteria as crit
from backend_app.services.requirements.engine import evaluate_v1, suggestions
from backend_app.services.requirements.llm_eval import MODES, TIMEOUT, V2Failure, evaluate_v2
from backend_app.services.requirements.rewrite import placeholders, rewrite_v1

MAX_TEXT_CHARS = 5000
REPLY_RESERVE_S = 0.05  # of V2_DEADLINE_S, kept to send the v1 answer once the model's time is up


@dataclass
class Outcome:
    """One requirement's answer, the LLM calls it made and whether v2 failed."""

    result: dict[str, Any]
    usages: list[ai.LLMResult] = field(default_factory=list)
    v2_failed: bool = False
    # Why v1 answered a v2 request: "v2-timeout", "v2-failed", "v2-budget"; None when v2 answered.
    fallback: str | None = None


FALLBACK_REASONS = {TIMEOUT: "v2-timeout", "BUDGET_EXCEEDED": "v2-budget"}


def check_text(text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(
            "The requirement text is empty: write the requirement first.",
            code="REQUIREMENT_TEXT_EMPTY",
            details={"fields": {"requirementText": "must not be empty"}},
        )
    if len(text) > MAX_TEXT_CHARS:
        raise ValidationError(
            f"requirementText is longer than {MAX_TEXT_CHARS} characters.",
            code="REQUIREMENT_TEXT_TOO_LONG",
            details={"max_chars": MAX_TEXT_CHARS},
        )
    return text


def run(
    text: str,
    context: dict | None,
    keys: list[str],
    mode: str,
    *,
    variant: str,
    user_id: str | None,
    record: bool = True,
    deadline_at: float | None = None,
) -> Outcome:
    """The answer for one requirement (no request context needed: batches call this from threads).

    ``deadline_at`` (a ``time.monotonic()`` value) bounds v2's model calls, all together; with
    one, v1's answer is made before the model is asked, so nothing is left to compute past it."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    provider = current_app.config["SETTINGS"].effective_ai_provider
    if variant == "v2" and provider == "openai":
        ready = None
        if deadline_at is not None:
            ready = _finish(evaluate_v1(text, context, keys, requested_variant="v2"), text, mode)
        try:
            left = None if deadline_at is None else deadline_at - time.monotonic()
            res, usages = evaluate_v2(text, context, keys, mode, user_id=user_id, record=record, deadline_s=left)
            return Outcome(_finish(res, text, mode), usages)
        except V2Failure as failure:
            note = f"v2 failed ({failure.code}: {failure.message}); the rule engine answered."
            if ready is not None:
                ready["note"] = note
                res = ready
            else:
                res = _finish(evaluate_v1(text, context, keys, requested_variant="v2", note=note), text, mode)
            res["fallback_code"] = failure.code
            # A spent budget is the user's limit, not a v2 defect: the canary guard does not count it.
            reason = FALLBACK_REASONS.get(failure.code, "v2-failed")
            return Outcome(res, failure.usages, failure.code != "BUDGET_EXCEEDED", reason)
    note = None
    if variant == "v2":
        note = "v2 needs the openai AI provider; this server runs offline, so the rule engine answered."
    return Outcome(_finish(evaluate_v1(text, context, keys, requested_variant=variant, note=note), text, mode))


def _finish(res: dict[str, Any], text: str, mode: str) -> dict[str, Any]:
    res["mode"] = mode
    if mode == "suggest":
        res["suggestions"] = suggestions(res)
    elif mode == "rewrite":
        if "rewrite" not in res:
            res.update(rewrite_v1(text, res["language"], res["findings"]))
        res["placeholders"] = placeholders(res["rewrite"])
        lang = {"language": res["language"]}
        after = [
            evaluate_v1(s.strip() + ".", lang, res["criteria"])["overall"]
            for s in res["rewrite"].split(". ")
            if s.strip(" .")
        ]
        res["rewrite_overall"] = min(after) if after else None
    return res


def answer(
    data: dict[str, Any],
    mode: str,
    *,
    variant: str,
    user_id: str,
    on_fallback: Callable[..., None] | None = None,
    spent_s: float = 0.0,
) -> dict[str, Any]:
    """The sync API's unit of work: validate the body, run within V2_DEADLINE_S (usage recorded),
    and call ``on_fallback(reason, v2_error=…)`` when v1 answered a v2 request (the caller says so
    in X-Variant; its canary guard counts a v2 error unless the user's budget was the cause).
    ``spent_s``: what the request used before this call, taken from its budget."""
    text = check_text(data.get("requirementText"))
    context = {} if data.get("context") is None else data["context"]
    if not isinstance(context, dict):
        raise ValidationError("context must be a JSON object.", details={"fields": {"context": "must be an object"}})
    keys = data.get("criteriaKeys")
    if keys is not None and (not isinstance(keys, list) or not all(isinstance(k, str) for k in keys)):
        raise ValidationError(
            "criteriaKeys must be a list of strings.", details={"fields": {"criteriaKeys": "must be a list of strings"}}
        )
    budget_s = current_app.config["SETTINGS"].v2_deadline_s - spent_s - REPLY_RESERVE_S
    deadline_at = time.monotonic() + budget_s
    outcome = run(text, context, crit.resolve(keys), mode, variant=variant, user_id=user_id, deadline_at=deadline_at)
    if outcome.fallback and on_fallback is not None:
        on_fallback(outcome.fallback, v2_error=outcome.v2_failed)
    return outcome.result
