"""The signed-in user's LLM usage against the monthly budget, and their quotas (the API: api/usage.py)."""

from __future__ import annotations

from flask import current_app, g, render_template

from backend_app.auth import current_tenant
from backend_app.models import UsageRecord
from backend_app.services import quotas, usage
from backend_app.tenancy import list_owned
from backend_app.web import bp, page_login_required

USAGE_ROWS = 100


def latest_calls(limit: int = USAGE_ROWS) -> list[UsageRecord]:
    """The signed-in user's latest LLM calls, newest first."""
    return list_owned(UsageRecord, current_tenant(), order_by=UsageRecord.created_at.desc(), limit=limit)


@bp.get("/usage")
@page_login_required
def usage_page():
    summary = usage.month_summary(g.user.id)
    budget = summary["budget_usd"]
    percent = min(100.0, summary["spent_usd"] / budget * 100) if budget > 0 else 100.0
    return render_template(
        "usage/usage.html",
        usage=summary,
        percent=round(percent, 1),
        records=latest_calls(),
        quota=quotas.summary(g.user.id),
        provider=current_app.config["SETTINGS"].effective_ai_provider,
    )
