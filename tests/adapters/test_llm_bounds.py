"""Every model call is bounded, against the scripted local server's exact failure cases: an
endless stream, a slow first token, 429 with Retry-After, a 500 on images, a one-slot server."""

import itertools
import threading
import time

import pytest

from backend_app.adapters import llm, llm_caps
from backend_app.adapters.llm_slots import LIMIT_KEY, SLOTS
from backend_app.extensions import db, redis_store
from backend_app.models import UsageRecord
from backend_app.services import ai
from tests.factories import make_user

pytestmark = pytest.mark.sqlite_only  # the endpoint is under test, not the SQL
MSGS = [{"role": "user", "content": "hi"}]
IMAGE_MSGS = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAAA"}},
        ],
    }
]


def _settings(app, **values):
    app.config["SETTINGS"] = app.config["SETTINGS"].replace(**values)


def test_each_use_sends_its_max_tokens(openai_app, fake_openai):
    _settings(openai_app, llm_max_tokens_chat=111, llm_max_tokens_json=222, llm_max_tokens_describe=333)
    user = make_user()
    for purpose in ("chat", "requirements", "video_description"):
        ai.complete(MSGS, user_id=user.id, purpose=purpose, use_cache=False)
    "".join(ai.stream([{"role": "user", "content": "stream"}], user_id=user.id, purpose="chat"))
    assert [r["max_tokens"] for r in fake_openai.requests] == [111, 222, 333, 111]
    # the chat's prompt format ends at the next "Question:" or documents block; JSON answers need no stop
    assert [r.get("stop") for r in fake_openai.requests] == [ai.STOPS["chat"], None, None, ai.STOPS["chat"]]


def test_a_slow_endpoint_fails_at_the_total_deadline_not_per_attempt(openai_app, fake_openai):
    """Three attempts of a 60 s read timeout were three minutes; the deadline bounds them all,
    and the timed-out call is recorded with what it made the server work (estimated)."""
    _settings(openai_app, llm_deadline_s=1.5, openai_timeout_s=60)
    fake_openai.delay_s = 5
    user = make_user()
    started = time.monotonic()
    with pytest.raises(ai.AIProviderFailed) as err:
        ai.complete(MSGS, user_id=user.id, purpose="chat")
    assert time.monotonic() - started < 3.0
    assert err.value.reason == llm.DEADLINE and err.value.code == "AI_PROVIDER_TIMEOUT"
    (row,) = UsageRecord.query.filter_by(user_id=user.id).all()
    assert row.outcome == "timeout" and row.prompt_tokens > 0
    assert row.completion_tokens == openai_app.config["SETTINGS"].llm_max_tokens_chat and row.cost_usd > 0


def test_a_stream_whose_first_token_is_late_fails_at_the_deadline(openai_app, fake_openai):
    _settings(openai_app, llm_deadline_s=1.0)
    fake_openai.delay_s = 4
    user = make_user()
    started = time.monotonic()
    with pytest.raises(ai.AIProviderFailed) as err:
        "".join(ai.stream(MSGS, user_id=user.id, purpose="chat"))
    assert time.monotonic() - started < 2.5 and err.value.reason == llm.STREAM_FAILED
    assert UsageRecord.query.filter_by(user_id=user.id).one().outcome == "timeout"


def test_an_endless_loop_is_stopped_closed_kept_and_marked(openai_app, fake_openai):
    fake_openai.responder = lambda req: itertools.chain(
        ["The red car ", "parks in shot 1. "], itertools.cycle(["It is ", "a car ", "and it ", "is red. "])
    )
    fake_openai.piece_delay_s = 0.005
    user = make_user()
    outcome: list[str] = []
    text = "".join(ai.stream(MSGS, user_id=user.id, purpose="chat", outcome=outcome))
    assert outcome == ["loop"] and len(text) < 400  # not 700 tokens of the same words
    kept = ai.without_loop(text)
    assert kept.startswith("The red car parks in shot 1. It is a car and it is red.") and kept.endswith("…")
    assert kept.count("It is a car") == 1
    _wait_for(lambda: fake_openai.hung_up == 1)  # the connection was closed: the server stops generating
    row = UsageRecord.query.filter_by(user_id=user.id).one()
    assert (row.outcome, row.cached) == ("loop", False) and row.completion_tokens > 0
    again = "".join(ai.stream(MSGS, user_id=user.id, purpose="chat"))
    assert len(fake_openai.requests) == 2 and again  # a looping answer is never cached


def test_an_endless_stream_that_does_not_repeat_stops_at_the_deadline(openai_app, fake_openai):
    _settings(openai_app, llm_deadline_s=1.0)
    fake_openai.responder = lambda req: (f"word{n} " for n in itertools.count())
    fake_openai.piece_delay_s = 0.01
    user = make_user()
    outcome: list[str] = []
    started = time.monotonic()
    text = "".join(ai.stream(MSGS, user_id=user.id, purpose="chat", outcome=outcome))
    assert outcome == ["timeout"] and 0.9 < time.monotonic() - started < 2.0 and text.startswith("word0 word1")
    _wait_for(lambda: fake_openai.hung_up == 1)


def test_429_waits_for_its_retry_after(openai_app, fake_openai):
    answers = iter([{"status": 429, "body": {"error": {"message": "slow down"}}, "headers": {"Retry-After": "1"}}])
    fake_openai.responder = lambda req: next(answers, "fine")
    started = time.monotonic()
    result = llm.complete(MSGS, model="m", cache_scope="u", cache_ttl_s=60, max_tokens=20)
    assert result.text == "fine" and len(fake_openai.requests) == 2 and time.monotonic() - started >= 1.0


def test_a_500_on_images_is_not_retried_and_says_the_model_cannot_read_images(openai_app, fake_openai):
    fake_openai.responder = lambda req: (
        {"status": 500, "body": {"error": {"message": "image input is not supported"}}}
        if isinstance(req["messages"][0]["content"], list)
        else "text is fine"
    )
    user = make_user()
    assert ai.can_read_images()
    with pytest.raises(ai.AIProviderFailed) as err:
        ai.complete(IMAGE_MSGS, user_id=user.id, purpose="video_description")
    assert (err.value.reason, err.value.message) == (llm.NO_IMAGES, "This model cannot read images.")
    assert len(fake_openai.requests) == 1 and not ai.can_read_images()
    assert ai.complete(MSGS, user_id=user.id, purpose="chat").text == "text is fine"  # text still works
    assert ai.endpoint_status()["last_error"]["code"] == llm.NO_IMAGES


def test_the_video_description_is_skipped_with_a_clear_note_for_a_text_only_model(openai_app, fake_openai):
    from backend_app.services.video import describe

    llm_caps.learn(vision=False)
    shots = [{"index": 0, "start_s": 0.0, "end_s": 2.0, "faces": 0, "brightness": 0.5, "motion": 0.1}]
    described = describe.describe(shots, 2.0, provider="openai", user_id=None, keyframes={0: b"jpeg"}, model="m")
    assert described.ai["note"].startswith("the model cannot read images") and fake_openai.requests == []
    assert [w["code"] for w in described.warnings] == ["AI_DESCRIPTION_UNAVAILABLE"]


def test_only_usable_answers_are_cached_and_invalid_ones_are_recorded_as_such(openai_app, fake_openai):
    fake_openai.responder = lambda req: "not json at all"
    user = make_user()
    first = ai.complete(MSGS, user_id=user.id, purpose="requirements", valid=lambda text: text.startswith("{"))
    second = ai.complete(MSGS, user_id=user.id, purpose="requirements", valid=lambda text: text.startswith("{"))
    assert not first.cached and not second.cached and len(fake_openai.requests) == 2
    assert [r.outcome for r in UsageRecord.query.filter_by(user_id=user.id)] == ["invalid", "invalid"]
    fake_openai.responder = lambda req: '{"ok": true}'
    ai.complete(MSGS, user_id=user.id, purpose="requirements", valid=lambda text: text.startswith("{"))
    assert ai.complete(MSGS, user_id=user.id, purpose="requirements").cached


def test_cached_answers_are_free_and_served_over_budget(openai_app, fake_openai):
    user = make_user()
    fake_openai.responder = lambda req: "worth keeping"
    ai.complete(MSGS, user_id=user.id, purpose="chat")
    user.monthly_budget_usd = 0.0
    db.session.commit()
    hit = ai.complete(MSGS, user_id=user.id, purpose="chat")
    assert hit.cached and hit.cost_usd == 0 and hit.text == "worth keeping"
    assert "".join(ai.stream(MSGS, user_id=user.id, purpose="chat")) == "worth keeping"
    with pytest.raises(Exception) as err:  # a new question does reach the endpoint: refused
        ai.complete([{"role": "user", "content": "new"}], user_id=user.id, purpose="chat")
    assert getattr(err.value, "code", "") == "BUDGET_EXCEEDED" and len(fake_openai.requests) == 1


def _in_threads(app, count: int, call) -> list:
    results: list = [None] * count

    def run(i: int) -> None:
        with app.app_context():
            try:
                results[i] = call(i)
            except Exception as exc:  # the test asserts on it
                results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def _answers(app, count: int) -> list:
    """``count`` distinct one-line calls at once, each from its own thread: their texts (or errors)."""
    return _in_threads(
        app,
        count,
        lambda i: (
            llm.complete(
                [{"role": "user", "content": f"q{i}"}], model="m", cache_scope="u", cache_ttl_s=60, max_tokens=5
            ).text
        ),
    )


def test_calls_in_flight_never_exceed_the_limit(openai_app, fake_openai):
    _settings(openai_app, llm_max_concurrency=2)
    fake_openai.delay_s = 0.3
    results = _answers(openai_app, 6)
    assert results == ["OK"] * 6 and fake_openai.most_busy == 2


def test_a_one_slot_server_found_by_the_probe_gets_one_call_at_a_time(openai_app, fake_openai):
    fake_openai.props = {"total_slots": 1, "modalities": {"vision": False}}
    fake_openai.delay_s = 0.2
    found = llm.probe()
    assert (found["slots"], found["vision"], found["json_mode"], found["tools"]) == (1, False, True, True)
    assert found["reachable"] and found["models"] == ["gpt-4o-mini"]
    results = _answers(openai_app, 4)
    assert results == ["OK"] * 4 and fake_openai.most_busy == 1


def test_timeouts_lower_the_shared_limit_instead_of_failing_the_calls(openai_app, fake_openai):
    """Four threads against a one-slot server answering in 0.5 s with a 1.2 s attempt timeout: the
    third and fourth time out while queued; the limit drops and their retries answer."""
    _settings(openai_app, llm_max_concurrency=4, openai_timeout_s=1.2, llm_deadline_s=30)
    fake_openai.delay_s = 0.5
    fake_openai._slots = threading.Semaphore(1)
    results = _answers(openai_app, 4)
    assert results == ["OK"] * 4
    assert int(redis_store.conn.get(LIMIT_KEY)) <= 2 and SLOTS.local_limit <= 2


def test_health_shows_the_provider_model_reachability_and_latency(openai_app, fake_openai, client):
    checks = client.get("/health").get_json()["checks"]
    assert checks["ai"]["reachable"] is True and checks["ai"]["capabilities"]["json_mode"] is None
    assert fake_openai.requests == []  # /health lists the models; it calls no model
    llm.probe()  # what a worker does at start
    checks = client.get("/health").get_json()["checks"]
    ai_check = checks["ai"]
    assert ai_check["ok"] and ai_check["provider"] == "openai" and ai_check["reachable"] is True
    assert ai_check["model"] == "gpt-4o-mini" and ai_check["latency_ms"] >= 0
    assert ai_check["capabilities"]["json_mode"] is True


def test_health_with_the_endpoint_down_says_so_without_failing(openai_app, client):
    _settings(openai_app, openai_base_url="http://127.0.0.1:9/v1")  # discard port: nothing listens
    response = client.get("/health")
    ai_check = response.get_json()["checks"]["ai"]
    assert ai_check["ok"] is True and ai_check["reachable"] is False
    assert ai_check["last_error"]["code"] == llm.UNAVAILABLE


def test_health_of_the_offline_provider(client):
    ai_check = client.get("/health").get_json()["checks"]["ai"]
    assert ai_check["ok"] and ai_check["provider"] == "offline" and ai_check["model"] is None


def _wait_for(condition, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _breaks_after_two_pieces(req):
    yield "The red car "
    yield "parks "
    raise ConnectionResetError("the server went away")


def test_a_stream_that_breaks_midway_keeps_its_partial_answer_marked(openai_app, fake_openai, client):
    from tests.api.test_chat import _corner, sse_events
    from tests.factories import auth_headers

    user = make_user()
    h = auth_headers(client, user)
    sid = client.post("/api/v1/sessions", json={"name": "s"}, headers=h).get_json()["id"]
    _corner(user.id, sid)
    fake_openai.responder = _breaks_after_two_pieces
    events = sse_events(client.post("/api/v1/chat/stream", json={"message": "red car", "session_id": sid}, headers=h))
    assert [e for e, _ in events] == ["token", "token", "error"]
    error = events[-1][1]
    assert error["code"] == "ANSWER_INTERRUPTED" and error["partial"] is True
    thread = client.get("/api/v1/chat/history", query_string={"session_id": sid}, headers=h).get_json()["messages"]
    assert [m["role"] for m in thread] == ["user", "assistant"]
    assert thread[1]["content"].strip() == "The red car parks" and thread[1]["notice"] == {"code": "ANSWER_INTERRUPTED"}
    assert UsageRecord.query.filter_by(user_id=user.id).one().outcome == "failed"


def test_a_model_listed_as_completion_only_is_known_to_have_no_image_input(openai_app, fake_openai):
    """llama.cpp's /v1/models names a text-only model's capabilities: ["completion"]."""
    fake_openai.models = ({"id": "gpt-4o-mini", "capabilities": ["completion"]},)
    assert llm.probe(full=False)["vision"] is False and not ai.can_read_images()
    fake_openai.models = ({"id": "gpt-4o-mini", "capabilities": ["completion", "multimodal"]},)
    assert llm.probe(full=False)["vision"] is True and ai.can_read_images()
