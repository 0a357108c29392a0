"""A user's LLM usage this month, by purpose, against their budget."""

from __future__ import annotations

from sqlalchemy import case, func, select

from backend_app.adapters import llm
from backend_app.extensions import db
from backend_app.models import UsageRecord


def month_summary(user_id: str) -> dict:
    """Calls, tokens and estimated cost since the first of this month (UTC), and the budget left."""
    start = llm.month_start()
    rows = db.session.execute(
        select(
            UsageRecord.purpose,
            func.count(),
            func.sum(case((UsageRecord.cached, 1), else_=0)),
            func.sum(UsageRecord.prompt_tokens),
            func.sum(UsageRecord.completion_tokens),
            func.sum(UsageRecord.cost_usd),
        )
        .where(UsageRecord.user_id == user_id, UsageRecord.created_at >= start)
        .group_by(UsageRecord.purpose)
        .order_by(UsageRecord.purpose)
    ).all()
    by_purpose = [
        {
            "purpose": purpose,
            "calls": int(calls),
            "cached_calls": int(cached or 0),
            "prompt_tokens": int(prompt or 0),
            "completion_tokens": int(completion or 0),
            "cost_usd": round(float(cost or 0.0), 6),
        }
        for purpose, calls, cached, prompt, completion, cost in rows
    ]
    spent = sum(p["cost_usd"] for p in by_purpose)
    budget = llm.budget_for(user_id)
    return {
        "month": start.strftime("%Y-%m"),
        "since": start.isoformat().replace("+00:00", "Z"),
        "budget_usd": budget,
        "spent_usd": round(spent, 6),
        "remaining_usd": round(max(budget - spent, 0.0), 6),
        "over_budget": spent >= budget,
        "by_purpose": by_purpose,
    }
