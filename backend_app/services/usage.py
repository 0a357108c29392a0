"""LLM usage and budgets: what a call costs, the row it leaves, and each user's month against
their budget (the user's own ``monthly_budget_usd``, else MONTHLY_BUDGET_USD)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from flask import current_app
from sqlalchemy import case, func, select

from backend_app.errors import AppError, NotFound, ValidationError
from backend_app.extensions import db
from backend_app.models import UsageRecord, User
from backend_app.models.base import utcnow

# Estimated USD per million tokens (input, output); unknown models use the default.
PRICES = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
}
DEFAULT_PRICE = (1.00, 3.00)
MAX_BUDGET_USD = 1_000_000.0
UNANSWERED = ("timeout", "aborted", "failed")  # calls that reached the endpoint but brought no answer


class BudgetExceeded(AppError):
    status, code = 402, "BUDGET_EXCEEDED"
    message = "Your monthly AI budget is used up; offline answers are still available."


class Call(Protocol):
    """What a usage row records of one model call (services.ai.LLMResult is one)."""

    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    cached: bool
    outcome: str


def estimate_cost(model: str, prompt_tokens: int, completion_tokens: int) -> float:
    """Estimated USD for a call's tokens at PRICES."""
    price_in, price_out = PRICES.get(model, DEFAULT_PRICE)
    return (prompt_tokens * price_in + completion_tokens * price_out) / 1_000_000


def month_start(now: datetime | None = None) -> datetime:
    """The first of this month, 00:00 UTC: budgets and summaries count from there."""
    now = now or utcnow()
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0, tzinfo=UTC)


def spent_this_month(user_id: str) -> float:
    """Estimated USD the user's calls have cost since ``month_start``."""
    return float(
        db.session.execute(
            select(func.coalesce(func.sum(UsageRecord.cost_usd), 0.0)).where(
                UsageRecord.user_id == user_id, UsageRecord.created_at >= month_start()
            )
        ).scalar()
    )


def budget_for(user_id: str) -> float:
    """The user's monthly budget in USD."""
    user = db.session.get(User, user_id)
    if user is not None and user.monthly_budget_usd is not None:
        return user.monthly_budget_usd
    return current_app.config["SETTINGS"].monthly_budget_usd


def check_budget(user_id: str | None) -> None:
    """Raise BudgetExceeded when the user has spent their monthly budget."""
    if user_id is None:
        return
    budget, spent = budget_for(user_id), spent_this_month(user_id)
    if spent >= budget:
        raise BudgetExceeded(details={"budget_usd": budget, "spent_usd": round(spent, 6)})


def row(user_id: str | None, purpose: str, call: Call) -> UsageRecord:
    """The usage row of one call, not yet added to a session."""
    return UsageRecord(
        user_id=user_id,
        purpose=purpose,
        model=call.model,
        prompt_tokens=call.prompt_tokens,
        completion_tokens=call.completion_tokens,
        cost_usd=call.cost_usd,
        cached=call.cached,
        outcome=call.outcome,
    )


def record(user_id: str | None, purpose: str, call: Call) -> None:
    """Store the usage row of one call (its own commit)."""
    db.session.add(row(user_id, purpose, call))
    db.session.commit()


def month_summary(user_id: str) -> dict:
    """Calls, tokens and estimated cost since the first of this month (UTC), and the budget left."""
    start = month_start()
    rows = db.session.execute(
        select(
            UsageRecord.purpose,
            func.count(),
            func.sum(case((UsageRecord.cached, 1), else_=0)),
            func.sum(case((UsageRecord.outcome.in_(UNANSWERED), 1), else_=0)),
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
            "unanswered_calls": int(unanswered or 0),
            "prompt_tokens": int(prompt or 0),
            "completion_tokens": int(completion or 0),
            "cost_usd": round(float(cost or 0.0), 6),
        }
        for purpose, calls, cached, unanswered, prompt, completion, cost in rows
    ]
    spent = sum(p["cost_usd"] for p in by_purpose)
    budget = budget_for(user_id)
    return {
        "month": start.strftime("%Y-%m"),
        "since": start.isoformat().replace("+00:00", "Z"),
        "budget_usd": budget,
        "spent_usd": round(spent, 6),
        "remaining_usd": round(max(budget - spent, 0.0), 6),
        "over_budget": spent >= budget,
        "by_purpose": by_purpose,
        "by_day": _by_day(user_id, start),
    }


def _by_day(user_id: str, start: datetime) -> list[dict]:
    """Each day of the month with calls: calls, tokens and cost per purpose, newest day first."""
    day = func.date(UsageRecord.created_at)
    rows = db.session.execute(
        select(
            day,
            UsageRecord.purpose,
            func.count(),
            func.sum(UsageRecord.prompt_tokens + UsageRecord.completion_tokens),
            func.sum(UsageRecord.cost_usd),
        )
        .where(UsageRecord.user_id == user_id, UsageRecord.created_at >= start)
        .group_by(day, UsageRecord.purpose)
        .order_by(day.desc(), UsageRecord.purpose)
    ).all()
    days: dict[str, dict] = {}
    for date, purpose, calls, tokens, cost in rows:
        entry = days.setdefault(
            str(date), {"day": str(date), "calls": 0, "tokens": 0, "cost_usd": 0.0, "by_purpose": {}}
        )
        entry["calls"] += int(calls)
        entry["tokens"] += int(tokens or 0)
        entry["cost_usd"] = round(entry["cost_usd"] + float(cost or 0.0), 6)
        entry["by_purpose"][purpose] = {"calls": int(calls), "cost_usd": round(float(cost or 0.0), 6)}
    return list(days.values())


def set_budget(user_id: str, value: Any) -> dict:
    """An admin sets a user's monthly budget in USD (None: back to MONTHLY_BUDGET_USD); the
    user's budget this month afterwards."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.", code="USER_NOT_FOUND")
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_BUDGET_USD
    ):
        raise ValidationError(
            f"monthly_budget_usd must be a number from 0 to {MAX_BUDGET_USD:g}, or null for the default.",
            details={"fields": {"monthly_budget_usd": "a number from 0, or null"}},
        )
    user.monthly_budget_usd = None if value is None else float(value)
    db.session.commit()
    return budget_of(user_id)


def budget_of(user_id: str) -> dict:
    """The user's own budget (None: the default), the budget in force, and this month's spend."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.", code="USER_NOT_FOUND")
    budget, spent = budget_for(user_id), spent_this_month(user_id)
    return {
        "user_id": user_id,
        "monthly_budget_usd": user.monthly_budget_usd,
        "budget_usd": budget,
        "spent_usd": round(spent, 6),
        "remaining_usd": round(max(budget - spent, 0.0), 6),
    }
