"""The LLM adapter against a real local Chat Completions server: the endpoint's language only
(no budgets, no usage rows: those are services/ai.py's, tested in tests/services/test_ai.py)."""

import pytest

from backend_app.adapters import llm
from backend_app.models import UsageRecord

MSGS = [{"role": "user", "content": "hi"}]


def complete(**kwargs) -> llm.Completion:
    return llm.complete(kwargs.pop("messages", MSGS), model="gpt-4o-mini", cache_ttl_s=60, max_tokens=50, **kwargs)


def test_complete_counts_tokens_and_caches_per_scope(openai_app, fake_openai):
    fake_openai.responder = lambda req: "hello there"
    first = complete(cache_scope="u1")
    second = complete(cache_scope="u1")
    other = complete(cache_scope="u2")
    assert first.text == second.text == other.text == "hello there"
    assert first.prompt_tokens > 0 and first.completion_tokens > 0 and not first.cached
    assert second.cached and second.prompt_tokens == second.completion_tokens == 0
    assert not other.cached and len(fake_openai.requests) == 2
    assert UsageRecord.query.count() == 0  # the adapter knows no tables
    assert llm.forget("u1") == 1 and complete(cache_scope="u1").cached is False


def test_server_errors_are_retried_then_reported(openai_app, fake_openai, caplog):
    # A provider whose error body echoes the request: its text must not reach the logs.
    fake_openai.responder = lambda req: {
        "status": 500,
        "body": {"error": {"message": "upstream error on " + req["messages"][0]["content"]}},
    }
    with pytest.raises(llm.LLMError) as err:
        complete(messages=[{"role": "user", "content": "The Fizzlecore shall log."}], cache_scope="u", attempts=2)
    assert (err.value.code, err.value.retryable) == (llm.UNAVAILABLE, True)
    assert err.value.message == "The AI provider failed after 2 attempts: InternalServerError."
    assert len(fake_openai.requests) == 2
    failures = [r for r in caplog.records if r.getMessage() == "LLM call failed"]
    assert len(failures) == 2 and {(r.error, r.status) for r in failures} == {("InternalServerError", 500)}
    assert not any("Fizzlecore" in str(vars(r)) for r in caplog.records)


def test_a_refusal_is_not_retried(openai_app, fake_openai):
    fake_openai.responder = lambda req: {"status": 400, "body": {"error": {"message": "bad request"}}}
    with pytest.raises(llm.LLMError) as err:
        complete(cache_scope="u")
    assert (err.value.code, err.value.retryable) == (llm.REFUSED, False) and len(fake_openai.requests) == 1


def test_stream_yields_pieces_and_counts_tokens_also_when_left_early(openai_app, fake_openai):
    fake_openai.responder = lambda req: "one two three"
    call = llm.Stream(
        [{"role": "user", "content": "count"}], model="gpt-4o-mini", cache_scope="u", cache_ttl_s=60, max_tokens=50
    )
    assert list(call) == ["one ", "two ", "three"]
    assert call.result.completion_tokens > 0 and call.result.prompt_tokens > 0 and not call.result.cached
    again = llm.Stream(
        [{"role": "user", "content": "count"}], model="gpt-4o-mini", cache_scope="u", cache_ttl_s=60, max_tokens=50
    )
    assert "".join(again) == "one two three" and again.result.cached  # a finished stream fills the cache
    left = llm.Stream(
        [{"role": "user", "content": "more"}], model="gpt-4o-mini", cache_scope="u", cache_ttl_s=60, max_tokens=50
    )
    pieces = iter(left)
    assert next(pieces) == "one "
    pieces.close()  # what a web server does when the client disconnects
    assert left.result.completion_tokens > 0 and left.result.prompt_tokens > 0
