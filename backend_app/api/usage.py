"""Your LLM usage and budget."""

from __future__ import annotations

from flask import jsonify

from backend_app.api import bp, doc
from backend_app.api.schemas import shape
from backend_app.auth import current_user, login_required
from backend_app.services import usage


@bp.get("/usage")
@doc(
    "Your AI usage this month by purpose (calls, tokens, estimated cost) against your monthly budget",
    tag="account",
    responses={200: "{month, budget_usd, spent_usd, remaining_usd, over_budget, by_purpose[]}"},
    returns=shape(
        {
            "month": {"type": "string"},
            "budget_usd": {"type": ["number", "null"]},
            "spent_usd": {"type": "number"},
            "remaining_usd": {"type": ["number", "null"]},
            "over_budget": {"type": "boolean"},
            "by_purpose": {"type": "array"},
        }
    ),
)
@login_required
def my_usage():
    return jsonify(usage.month_summary(current_user().id))
