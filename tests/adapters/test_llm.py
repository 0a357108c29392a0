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


# --- a total deadline per call -------------------------------------------------------------


def _timed(**kwargs):
    import time

    started = time.monotonic()
    try:
        return complete(**kwargs), time.monotonic() - started
    except llm.LLMError as exc:
        return exc, time.monotonic() - started


@pytest.mark.sqlite_only
def test_a_slow_model_is_cut_at_the_deadline(openai_app, fake_openai):
    fake_openai.responder = lambda req: "late"
    fake_openai.delay_s = 3.0
    error, took = _timed(cache_scope="u", deadline_s=0.6)
    assert isinstance(error, llm.LLMError) and error.code == llm.DEADLINE and error.retryable
    assert 0.55 <= took < 0.9, took
    assert len(fake_openai.requests) == 1  # no retry once the deadline has passed


@pytest.mark.sqlite_only
def test_the_deadline_is_total_not_per_read_and_closes_the_connection(openai_app, fake_openai):
    """A server that trickles its answer keeps every single read short: the SDK's per-read timeout
    (OPENAI_TIMEOUT_S) never trips, only the total deadline does, and the connection is closed."""
    import time

    from tests.helpers import wait_until

    openai_app.config["SETTINGS"] = openai_app.config["SETTINGS"].replace(openai_timeout_s=0.5)
    fake_openai.responder = lambda req: "slowly"
    fake_openai.trickle_s = 0.05
    whole, took_whole = _timed(cache_scope="a")
    assert isinstance(whole, llm.Completion) and whole.text == "slowly"
    assert took_whole > 1.0, took_whole  # longer than the per-read timeout: it never tripped
    error, took = _timed(cache_scope="b", deadline_s=0.5)
    cut_at = time.monotonic()
    assert isinstance(error, llm.LLMError) and error.code == llm.DEADLINE
    assert 0.45 <= took < 0.8, took
    wait_until(lambda: fake_openai.disconnects, timeout_s=2, message="the server to see the connection closed")
    assert fake_openai.disconnects[0] - cut_at < 0.5
    fake_openai.trickle_s = 0
    assert complete(cache_scope="c", deadline_s=2).text == "slowly"  # the pool's next connection is fine


@pytest.mark.sqlite_only
def test_retries_end_by_the_deadline(openai_app, fake_openai):
    fake_openai.responder = lambda req: {"status": 500, "body": {"error": {"message": "down"}}}
    error, took = _timed(cache_scope="u", deadline_s=0.3, attempts=3)
    assert isinstance(error, llm.LLMError) and error.code == llm.DEADLINE
    assert took < 0.3 and len(fake_openai.requests) == 1  # the 0.5 s backoff would pass the deadline
    error, took = _timed(cache_scope="v", deadline_s=5, attempts=2)
    assert error.code == llm.UNAVAILABLE and len(fake_openai.requests) == 3  # with time left: retried
