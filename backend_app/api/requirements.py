"""Requirements quality for one requirement: criteria, evaluations, suggestions, rewrites."""

from __future__ import annotations

from flask import jsonify

from backend_app.api import bp, doc
from backend_app.api.schemas import ref, shape, storable_json, text
from backend_app.auth import current_user, login_required
from backend_app.observability import request_elapsed_s
from backend_app.services.requirements import criteria
from backend_app.services.requirements.rules import RULES
from backend_app.services.requirements.single import MAX_TEXT_CHARS, answer
from backend_app.validation import json_body
from backend_app.variant import current_variant, serve_v1_instead

# No criteriaKeys (or an empty list) means every criterion.
CRITERIA_KEYS = {"type": ["array", "null"], "items": {"type": "string", "enum": list(criteria.CRITERIA)}}
REQUIREMENT_BODY = {
    "type": "object",
    "required": ["requirementText"],
    "properties": {
        "requirementText": text(MAX_TEXT_CHARS),
        "context": {"type": ["object", "null"], "additionalProperties": storable_json()},
        "criteriaKeys": CRITERIA_KEYS,
    },
}
ERRORS = {422: "VALIDATION_ERROR, REQUIREMENT_TEXT_EMPTY, REQUIREMENT_TEXT_TOO_LONG, UNKNOWN_CRITERIA"}
# v2 (the model) has V2_DEADLINE_S (default 2 s) in all; past it, or when v2 fails, the rule engine
# answers with X-Variant: v1 and X-Variant-Reason: v2-timeout (or v2-failed, v2-budget).
V2_NOTE = (
    "; under v2 the model has V2_DEADLINE_S (2 s) in all, then the rule engine answers (X-Variant-Reason: v2-timeout)"
)


@bp.get("/criteria")
@doc(
    "Quality criteria, each with its description and the INCOSE rules it draws on",
    tag="requirements",
    auth="none",
    returns=shape({"criteria": {"type": "array"}, "scoring": {"type": "object"}, "rules": {"type": "array"}}),
)
def list_criteria():
    return jsonify(
        {
            "criteria": criteria.catalogue(RULES),
            "scoring": criteria.SCORING,
            "rules": [
                {"id": rid, "name": r["name"], "criterion": r["criterion"], "severity": r["severity"]}
                for rid, r in RULES.items()
            ],
        }
    )


def _answer(mode: str):
    return jsonify(
        answer(
            json_body(),
            mode,
            variant=current_variant(),
            user_id=current_user().id,
            on_fallback=serve_v1_instead,
            spent_s=request_elapsed_s(),
        )
    )


@bp.post("/evaluations")
@doc(
    "Evaluate one requirement: findings with spans and rules, scores per criterion" + V2_NOTE,
    tag="requirements",
    body=REQUIREMENT_BODY,
    responses={200: "OK", **ERRORS},
    returns=ref("Requirement"),
)
@login_required
def create_evaluation():
    return _answer("evaluate")


@bp.post("/suggestions")
@doc(
    "Concrete fixes for each finding of one requirement" + V2_NOTE,
    tag="requirements",
    body=REQUIREMENT_BODY,
    responses={200: "OK", **ERRORS},
    returns=ref("Requirement"),
)
@login_required
def create_suggestions():
    return _answer("suggest")


@bp.post("/rewrites")
@doc(
    "An improved version of one requirement (one model call under v2: findings and sentence together)" + V2_NOTE,
    tag="requirements",
    body=REQUIREMENT_BODY,
    responses={200: "OK", **ERRORS},
    returns=ref("Requirement"),
)
@login_required
def create_rewrite():
    return _answer("rewrite")
