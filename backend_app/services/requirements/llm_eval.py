"""The v2 evaluator: the LLM answers in the v1 shape, checked against a JSON Schema.

The model gets the rule catalogue and the schema; its answer must validate (and every span
must lie inside the text). An invalid answer is retried once with the validation error;
a second invalid answer, or a provider failure, raises ``V2Failure`` and the caller falls
back to v1 with a note. Scores are computed from the findings by the same formula as v1.
"""

from __future__ import annotations

import json
import time
from functools import cache
from typing import Any

import jsonschema

from backend_app.services import ai
from backend_app.services.requirements import criteria as crit
from backend_app.services.requirements.engine import detect_language, make_finding, result
from backend_app.services.requirements.rules import RULES
from backend_app.services.usage import BudgetExceeded

PURPOSE = "requirements"
MODES = ("evaluate", "suggest", "rewrite")
TIMEOUT = "AI_PROVIDER_TIMEOUT"


class V2Failure(Exception):
    """v2 could not answer usefully; ``code`` says why, ``usages`` are the calls it made."""

    def __init__(self, code: str, message: str, usages: list[ai.LLMResult]):
        super().__init__(message)
        self.code, self.message, self.usages = code, message, usages


FINDING_SCHEMA = {
    "type": "object",
    "required": ["rule_id", "severity", "span", "message", "suggestion"],
    "properties": {
        "rule_id": {"enum": sorted(RULES)},
        "criterion": {"enum": sorted(crit.CRITERIA)},
        "severity": {"enum": sorted(crit.PENALTIES)},
        "span": {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 2, "maxItems": 2},
        "message": {"type": "string", "maxLength": 1000},
        "suggestion": {"type": "string", "maxLength": 1000},
        "replacement": {"type": ["string", "null"], "maxLength": 1000},
    },
}


def answer_schema(mode: str) -> dict[str, Any]:
    schema = {
        "type": "object",
        "required": ["findings"],
        "properties": {
            "language": {"enum": ["en", "de"]},
            "findings": {"type": "array", "maxItems": 100, "items": FINDING_SCHEMA},
            "rewrite": {"type": "string", "minLength": 1, "maxLength": 5000},
        },
    }
    if mode == "rewrite":
        schema["required"] = ["findings", "rewrite"]
    return schema


@cache
def validator(mode: str) -> jsonschema.Draft202012Validator:
    """A compiled validator per mode: checking the schema itself on every answer costs ~0.1 s."""
    schema = answer_schema(mode)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def messages(text: str, context: dict | None, keys: list[str], mode: str) -> list[dict[str, str]]:
    rules = {rid: {"name": r["name"], "criterion": r["criterion"]} for rid, r in RULES.items()}
    system = (
        "You review one software requirement (English or German) against the INCOSE Guide for Writing "
        "Requirements rules listed below. Report every rule violation as a finding with the rule_id, "
        "a severity (high, medium, low), the character span [start, end) of the offending words in the "
        "requirement text exactly as given (0-based, end exclusive), a short message and a concrete "
        "suggestion; give 'replacement' when a direct text replacement fixes it. "
        + (
            "Also give 'rewrite': the improved requirement, one modal verb per sentence, placeholders in "
            "<angle brackets> for values you do not know. "
            if mode == "rewrite"
            else ""
        )
        + "Answer with one JSON object only, matching this JSON Schema: "
        + json.dumps(answer_schema(mode))
        + " Rules: "
        + json.dumps(rules, ensure_ascii=False)
        + " Criteria asked for: "
        + json.dumps(keys)
    )
    user = json.dumps({"requirementText": text, "context": context or {}}, ensure_ascii=False)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def parse(raw: str, text: str, mode: str) -> dict[str, Any]:
    """The validated answer, or ValueError saying what is wrong with it."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at position {exc.pos}") from None
    error = jsonschema.exceptions.best_match(validator(mode).iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise ValueError(f"schema violation at {where}: {error.message[:300]}")
    for i, f in enumerate(data["findings"]):
        start, end = f["span"]
        if not start < end <= len(text):
            raise ValueError(f"findings/{i}/span [{start}, {end}] is not inside the text (length {len(text)})")
    return data


def _valid(text: str, mode: str):
    """The cache's test of an answer: only one that parses is worth replaying."""

    def valid(raw: str) -> bool:
        try:
            parse(raw, text, mode)
        except ValueError:
            return False
        return True

    return valid


def evaluate_v2(
    text: str,
    context: dict | None,
    keys: list[str],
    mode: str,
    *,
    user_id: str | None,
    record: bool = True,
    deadline_s: float | None = None,
) -> tuple[dict[str, Any], list[ai.LLMResult]]:
    """Ask the LLM (retrying an invalid answer once); the result in the v1 shape, plus the calls made.

    One call in every mode (a rewrite's findings and improved sentence come in the same answer);
    a second only to repair an invalid answer. ``deadline_s`` bounds all of it: past it
    ``V2Failure("AI_PROVIDER_TIMEOUT")``, and a repair is only tried while time is left."""
    deadline_at = None if deadline_s is None else time.monotonic() + deadline_s
    msgs = messages(text, context, keys, mode)
    usages: list[ai.LLMResult] = []
    problem = ""
    for _attempt in (1, 2):
        left = None if deadline_at is None else deadline_at - time.monotonic()
        if left is not None and left <= 0:
            why = f"to repair an invalid answer ({problem})" if problem else "for the model"
            raise V2Failure(TIMEOUT, f"No time was left {why}.", usages)
        try:
            answer = ai.complete(
                msgs,
                user_id=user_id,
                purpose=PURPOSE,
                json_mode=True,
                record=record,
                deadline_s=left,
                valid=_valid(text, mode),
            )
        except BudgetExceeded as exc:
            raise V2Failure("BUDGET_EXCEEDED", exc.message, usages) from None
        except ai.AIProviderFailed as exc:
            if exc.call is not None and not record:  # the caller records: the failed call too
                usages.append(exc.call)
            if isinstance(exc, ai.AITimeout):
                raise V2Failure(TIMEOUT, exc.message, usages) from None
            raise V2Failure("AI_PROVIDER_FAILED", exc.message, usages) from None
        usages.append(answer)
        try:
            data = parse(answer.text, text, mode)
            break
        except ValueError as exc:
            problem = str(exc)
            msgs = msgs + [
                {"role": "assistant", "content": answer.text[:4000]},
                {
                    "role": "user",
                    "content": f"That answer was invalid ({problem}). "
                    "Answer again with one JSON object matching the schema.",
                },
            ]
    else:
        raise V2Failure("AI_INVALID_OUTPUT", f"The model's answer was invalid twice: {problem}", usages)
    return to_result(text, context, keys, mode, data, model=usages[-1].model), usages


def to_result(text: str, context: dict | None, keys: list[str], mode: str, data: dict, *, model: str) -> dict:
    lang = data.get("language") or detect_language(text, context)
    findings = []
    for f in data["findings"]:
        finding = make_finding(
            f["rule_id"],
            (f["span"][0], f["span"][1]),
            text,
            lang,
            severity=f["severity"],
            message=f["message"],
            suggestion=f["suggestion"],
        )
        if "replacement" in f:
            finding["replacement"] = f["replacement"]
        findings.append(finding)
    findings.sort(key=lambda f: (f["span"][0], f["span"][1]))
    out = result(text, lang, findings, keys, variant="v2", engine=f"llm:{model}", requested_variant="v2")
    if mode == "rewrite":
        out["rewrite"] = data["rewrite"]
    return out
