"""Your LLM usage and budget, and your remaining quotas."""

from __future__ import annotations

from flask import jsonify

from backend_app.api import bp, doc
from backend_app.api.schemas import QUOTA_SUMMARY, shape
from backend_app.auth import current_user, login_required
from backend_app.services import quotas, usage


@bp.get("/usage")
@doc(
    "Your AI usage this month by purpose and by day (calls, unanswered calls, tokens, estimated cost) "
    "against your monthly budget, "
    "and your quotas (storage_bytes, uploads_per_hour, concurrent_jobs: each {limit, used, remaining})",
    tag="account",
    responses={200: "{month, budget_usd, spent_usd, remaining_usd, over_budget, by_purpose[], by_day[], quota}"},
    returns=shape(
        {
            "month": {"type": "string"},
            "budget_usd": {"type": ["number", "null"]},
            "spent_usd": {"type": "number"},
            "remaining_usd": {"type": ["number", "null"]},
            "over_budget": {"type": "boolean"},
            "by_purpose": {"type": "array"},
            "by_day": {"type": "array"},
            "quota": QUOTA_SUMMARY,
        }
    ),
)
@login_required
def my_usage():
    user_id = current_user().id
    return jsonify(usage.month_summary(user_id) | {"quota": quotas.summary(user_id)})
