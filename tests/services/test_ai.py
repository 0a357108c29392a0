"""Model calls for a user (services/ai.py): budget before, usage after, against a real local
Chat Completions server."""

import pytest

from backend_app.adapters import llm
from backend_app.models import UsageRecord
from backend_app.services import ai, usage
from tests.factories import PASSWORD, make_user


def test_complete_records_usage_and_caches(openai_app, fake_openai):
    user = make_user()
    fake_openai.responder = lambda req: "hello there"
    msgs = [{"role": "user", "content": "hi"}]
    first = ai.complete(msgs, user_id=user.id, purpose="test")
    second = ai.complete(msgs, user_id=user.id, purpose="test")
    assert first.text == second.text == "hello there"
    assert not first.cached and second.cached
    assert len(fake_openai.requests) == 1
    rows = UsageRecord.query.filter_by(user_id=user.id).all()
    assert len(rows) == 2 and rows[0].prompt_tokens > 0 and sum(r.cost_usd for r in rows) == first.cost_usd > 0


def test_one_users_cached_call_never_answers_another_user(openai_app, fake_openai):
    """A hit shows in the usage as a cached call: shared, it would confirm another user's text."""
    first_user, second_user = make_user(), make_user()
    fake_openai.responder = lambda req: "an answer"
    msgs = [{"role": "user", "content": "a confidential requirement"}]
    assert not ai.complete(msgs, user_id=first_user.id, purpose="test").cached
    assert not ai.complete(msgs, user_id=second_user.id, purpose="test").cached
    assert len(fake_openai.requests) == 2
    assert "".join(ai.stream(msgs, user_id=second_user.id, purpose="chat")) == "an answer"
    assert len(fake_openai.requests) == 2  # the stream shares the second user's own cache entry
    assert UsageRecord.query.filter_by(user_id=second_user.id, cached=True).count() == 1


@pytest.mark.settings(purge_retention_h=2, llm_cache_ttl_s=86400)
def test_cached_answers_live_no_longer_than_the_retention_and_go_with_the_account(openai_app, fake_openai, client):
    """Found by a review: a cached rewrite quoting requirement text outlived both the retention
    and the account's erasure by the cache's own 24 h."""
    from backend_app.extensions import redis_store
    from tests.factories import auth_headers

    user, other = make_user(), make_user()
    user_id, other_id = user.id, other.id
    fake_openai.responder = lambda req: "The Zorblax pump shall deliver 5 l/min."
    ai.complete([{"role": "user", "content": "The Zorblax pump shall be fast."}], user_id=user.id, purpose="t")
    ai.complete([{"role": "user", "content": "The Zorblax pump shall be fast."}], user_id=other.id, purpose="t")
    (key,) = redis_store.conn.keys(f"{llm.CACHE_PREFIX}{user.id}:*")
    assert 0 < redis_store.conn.ttl(key) <= 2 * 3600
    response = client.delete("/api/v1/me", json={"password": PASSWORD}, headers=auth_headers(client, user))
    assert response.status_code == 200, response.get_json()
    assert redis_store.conn.keys(f"{llm.CACHE_PREFIX}{user_id}:*") == []
    assert len(redis_store.conn.keys(f"{llm.CACHE_PREFIX}{other_id}:*")) == 1  # nobody else's


def test_stream_yields_pieces_and_records_usage(openai_app, fake_openai):
    user = make_user()
    fake_openai.responder = lambda req: "one two three"
    pieces = list(ai.stream([{"role": "user", "content": "count"}], user_id=user.id, purpose="chat"))
    assert "".join(pieces) == "one two three" and len(pieces) == 3
    assert UsageRecord.query.filter_by(user_id=user.id, purpose="chat").one().completion_tokens > 0


def test_provider_failures_are_ai_provider_failed(openai_app, fake_openai):
    user = make_user()
    fake_openai.responder = lambda req: {"status": 500, "body": {"error": {"message": "upstream error"}}}
    with pytest.raises(ai.AIProviderFailed) as err:
        ai.complete([{"role": "user", "content": "x"}], user_id=user.id, purpose="t", attempts=2)
    assert err.value.code == "AI_PROVIDER_FAILED" and err.value.status == 502
    assert err.value.message == "The AI provider failed after 2 attempts: InternalServerError."
    (row,) = UsageRecord.query.filter_by(user_id=user.id).all()  # recorded: a call was made
    assert (row.outcome, row.completion_tokens, row.cost_usd) == ("failed", 0, 0.0)  # nothing generated


def test_budget_exceeded(openai_app, fake_openai):
    user = make_user()
    user.monthly_budget_usd = 0.0
    from backend_app.extensions import db

    db.session.commit()
    with pytest.raises(usage.BudgetExceeded) as err:
        ai.complete([{"role": "user", "content": "x"}], user_id=user.id, purpose="t")
    assert err.value.code == "BUDGET_EXCEEDED" and fake_openai.requests == []
    with pytest.raises(usage.BudgetExceeded):
        next(ai.stream([{"role": "user", "content": "x"}], user_id=user.id, purpose="chat"))
    assert fake_openai.requests == []
