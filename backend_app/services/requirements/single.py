"""Evaluate, suggest or rewrite one requirement with the variant the caller was assigned.

v1 is the rule engine. v2 asks the LLM (only with the ``openai`` provider); when v2 fails
the answer is v1's with a ``note`` saying why, and the caller hears of the failure (its
canary guard counts it). The response says what ran: ``variant`` (v1/v2),
``requested_variant`` and ``engine``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from backend_app.errors import ValidationError
from backend_app.services import ai
from backend_app.services.requirements import criteria as crit
from backend_app.services.requirements.engine import evaluate_v1, suggestions
from backend_app.services.requirements.llm_eval import MODES, V2Failure, evaluate_v2
from backend_app.services.requirements.rewrite import placeholders, rewrite_v1

MAX_TEXT_CHARS = 5000


@dataclass
class Outcome:
    """One requirement's answer, the LLM calls it made and whether v2 failed."""

    result: dict[str, Any]
    usages: list[ai.LLMResult] = field(default_factory=list)
    v2_failed: bool = False


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
) -> Outcome:
    """The answer for one requirement (no request context needed: batches call this from threads)."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    provider = current_app.config["SETTINGS"].effective_ai_provider
    if variant == "v2" and provider == "openai":
        try:
            res, usages = evaluate_v2(text, context, keys, mode, user_id=user_id, record=record)
            return Outcome(_finish(res, text, mode), usages)
        except V2Failure as failure:
            note = f"v2 failed ({failure.code}: {failure.message}); the rule engine answered."
            res = evaluate_v1(text, context, keys, requested_variant="v2", note=note)
            res["fallback_code"] = failure.code
            # A spent budget is the user's limit, not a v2 defect: the canary guard does not count it.
            return Outcome(_finish(res, text, mode), failure.usages, failure.code != "BUDGET_EXCEEDED")
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
    on_v2_failure: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """The sync API's unit of work: validate the body, run (usage recorded), and call
    ``on_v2_failure`` when v2 fell back to v1 (the caller's canary guard counts it)."""
    text = check_text(data.get("requirementText"))
    context = {} if data.get("context") is None else data["context"]
    if not isinstance(context, dict):
        raise ValidationError("context must be a JSON object.", details={"fields": {"context": "must be an object"}})
    keys = data.get("criteriaKeys")
    if keys is not None and (not isinstance(keys, list) or not all(isinstance(k, str) for k in keys)):
        raise ValidationError(
            "criteriaKeys must be a list of strings.", details={"fields": {"criteriaKeys": "must be a list of strings"}}
        )
    outcome = run(text, context, crit.resolve(keys), mode, variant=variant, user_id=user_id)
    if outcome.v2_failed and on_v2_failure is not None:
        on_v2_failure()
    return outcome.result
