"""Criteria, evaluations, suggestions and rewrites over HTTP; v2 against a local Chat Completions server."""

import json

import pytest

from backend_app.models import UsageRecord
from tests.factories import auth_headers, make_user

TEXT = "The system shall be fast and user-friendly where possible."


def _v2_answer(text=TEXT, **extra):
    start = text.index("fast")
    return {
        "language": "en",
        "findings": [
            {
                "rule_id": "R7",
                "criterion": "clarity",
                "severity": "high",
                "span": [start, start + 4],
                "message": "Vague speed.",
                "suggestion": "Say how fast.",
                "replacement": "within 2 s",
            }
        ],
        **extra,
    }


@pytest.mark.sqlite_only
def test_criteria_lists_every_criterion_with_rules(client):
    body = client.get("/api/v1/criteria").get_json()
    keys = {c["key"] for c in body["criteria"]}
    assert {
        "clarity",
        "testability",
        "measurability",
        "singularity",
        "completeness",
        "unambiguity",
        "feasibility",
        "conformity",
    } <= keys
    for c in body["criteria"]:
        assert c["description"] and c["rules"] and all(r["id"].startswith("R") and r["name"] for r in c["rules"])
    assert "formula" in body["scoring"]


def test_evaluation_v1(client, app):
    headers = auth_headers(client, make_user())
    res = client.post(
        "/api/v1/evaluations",
        headers=headers,
        json={"requirementText": TEXT, "context": {}, "criteriaKeys": ["clarity", "testability"]},
    )
    body = res.get_json()
    assert res.status_code == 200 and res.headers["X-Variant"] == "v1"
    assert body["variant"] == "v1" and body["engine"] == "rules-v1" and body["language"] == "en"
    assert set(body["scores"]) == {"clarity", "testability"} and body["overall"] < 50
    assert {"R7", "R8", "R34"} <= {f["rule_id"] for f in body["findings"]}
    fast = next(f for f in body["findings"] if f["rule_id"] == "R7")
    assert TEXT[fast["span"][0] : fast["span"][1]] == fast["words"] == "fast"


@pytest.mark.sqlite_only
def test_suggestions_and_rewrites(client):
    headers = auth_headers(client, make_user())
    body = client.post("/api/v1/suggestions", headers=headers, json={"requirementText": TEXT}).get_json()
    assert body["mode"] == "suggest" and len(body["suggestions"]) == len(body["findings"])
    assert any(s["replacement"] == "within <value> <unit>" for s in body["suggestions"])
    body = client.post(
        "/api/v1/rewrites",
        headers=headers,
        json={"requirementText": "Der Benutzer muss in der Lage sein, Berichte zu exportieren."},
    ).get_json()
    assert body["rewrite"] == "Der Benutzer muss Berichte exportieren." and body["rewrite_overall"] > body["overall"]


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    "payload,code",
    [
        ({"requirementText": "  "}, "REQUIREMENT_TEXT_EMPTY"),
        ({}, "REQUIREMENT_TEXT_EMPTY"),
        ({"requirementText": "x" * 5001}, "REQUIREMENT_TEXT_TOO_LONG"),
        ({"requirementText": "The pump shall stop.", "criteriaKeys": ["beauty"]}, "UNKNOWN_CRITERIA"),
        ({"requirementText": "The pump shall stop.", "context": "nope"}, "VALIDATION_ERROR"),
        ({"requirementText": "The pump shall stop.", "context": []}, "VALIDATION_ERROR"),  # not an object, if empty
        ({"requirementText": "The pump shall stop.", "context": ""}, "VALIDATION_ERROR"),
    ],
)
def test_bad_input_is_a_coded_422(client, payload, code):
    res = client.post("/api/v1/evaluations", headers=auth_headers(client, make_user()), json=payload)
    assert res.status_code == 422 and res.get_json()["error"]["code"] == code


@pytest.mark.sqlite_only
def test_evaluation_needs_sign_in(client):
    assert client.post("/api/v1/evaluations", json={"requirementText": TEXT}).status_code == 401


def _v2_headers(client):
    return {**auth_headers(client, make_user("admin")), "X-Force-Variant": "v2"}


@pytest.mark.sqlite_only
def test_v2_answers_in_the_same_shape(client, openai_app, fake_openai):
    fake_openai.responder = lambda req: json.dumps(_v2_answer())
    headers = _v2_headers(client)
    res = client.post("/api/v1/evaluations", headers=headers, json={"requirementText": TEXT})
    body = res.get_json()
    assert res.headers["X-Variant"] == "v2" and body["variant"] == "v2" and body["engine"].startswith("llm:")
    assert [(f["rule_id"], f["words"], f["rule"]) for f in body["findings"]] == [("R7", "fast", "Vague Terms")]
    assert body["scores"]["clarity"] == 70 and body["note"] is None
    sent = fake_openai.requests[0]
    assert sent["response_format"] == {"type": "json_object"} and TEXT in sent["messages"][1]["content"]
    assert UsageRecord.query.filter_by(purpose="requirements").count() == 1
    again = client.post("/api/v1/evaluations", headers=headers, json={"requirementText": TEXT})
    assert again.get_json()["findings"] == body["findings"] and len(fake_openai.requests) == 1  # same text: cached
    client.post("/api/v1/evaluations", headers=_v2_headers(client), json={"requirementText": TEXT})
    assert len(fake_openai.requests) == 2  # another user's same text: asked again (the cache is per user)


@pytest.mark.sqlite_only
def test_v2_invalid_json_is_retried_once_then_accepted(client, openai_app, fake_openai):
    answers = iter(["this is not json {", json.dumps(_v2_answer())])
    fake_openai.responder = lambda req: next(answers)
    body = client.post("/api/v1/evaluations", headers=_v2_headers(client), json={"requirementText": TEXT}).get_json()
    assert body["variant"] == "v2" and len(fake_openai.requests) == 2
    assert "invalid" in fake_openai.requests[1]["messages"][-1]["content"]
    from backend_app.services.flags import guard

    assert guard.window_counts() == (1, 0)  # retried into a valid answer: not a v2 failure


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    "bad",
    [
        "not json at all",
        json.dumps(
            {"findings": [{"rule_id": "R99", "severity": "high", "span": [0, 3], "message": "m", "suggestion": "s"}]}
        ),
        json.dumps(
            {"findings": [{"rule_id": "R7", "severity": "high", "span": [0, 999], "message": "m", "suggestion": "s"}]}
        ),
    ],
)
def test_v2_invalid_twice_falls_back_to_v1_with_a_note(client, openai_app, fake_openai, bad):
    fake_openai.responder = lambda req: bad
    res = client.post("/api/v1/evaluations", headers=_v2_headers(client), json={"requirementText": TEXT})
    body = res.get_json()
    assert res.status_code == 200 and len(fake_openai.requests) == 2
    assert body["variant"] == "v1" and body["requested_variant"] == "v2" and body["engine"] == "rules-v1"
    assert body["fallback_code"] == "AI_INVALID_OUTPUT" and "v2 failed" in body["note"]
    assert {"R7", "R8"} <= {f["rule_id"] for f in body["findings"]}
    from backend_app.services.flags import guard

    assert guard.window_counts() == (1, 1)  # the canary guard counted the fallback as a v2 error


@pytest.mark.sqlite_only
def test_v2_provider_error_falls_back_and_rewrite_comes_from_the_llm(client, openai_app, fake_openai):
    fake_openai.responder = lambda req: {"status": 400, "body": {"error": {"message": "bad"}}}
    body = client.post("/api/v1/evaluations", headers=_v2_headers(client), json={"requirementText": TEXT}).get_json()
    assert body["variant"] == "v1" and body["fallback_code"] == "AI_PROVIDER_FAILED"
    fake_openai.responder = lambda req: json.dumps(_v2_answer(rewrite="The system shall answer within 2 s."))
    body = client.post("/api/v1/rewrites", headers=_v2_headers(client), json={"requirementText": TEXT}).get_json()
    assert body["variant"] == "v2" and body["rewrite"] == "The system shall answer within 2 s."


@pytest.mark.sqlite_only
def test_v2_on_an_offline_server_answers_with_v1_and_says_so(client):
    body = client.post("/api/v1/evaluations", headers=_v2_headers(client), json={"requirementText": TEXT}).get_json()
    assert body["variant"] == "v1" and body["requested_variant"] == "v2" and "offline" in body["note"]


# --- the 2-second budget of a single v2 request ----------------------------------------------


def _post_timed(client, path, headers, text=TEXT):
    import time

    started = time.monotonic()
    res = client.post(path, headers=headers, json={"requirementText": text})
    return res, time.monotonic() - started


@pytest.mark.sqlite_only
@pytest.mark.parametrize("slow", [{"delay_s": 3.0}, {"trickle_s": 0.05}], ids=["thinking", "trickling"])
def test_a_slow_model_gets_v1_with_the_reason_within_the_deadline(client, openai_app, fake_openai, slow):
    openai_app.config["SETTINGS"] = openai_app.config["SETTINGS"].replace(v2_deadline_s=1.0)
    fake_openai.responder = lambda req: json.dumps(_v2_answer())
    for name, value in slow.items():
        setattr(fake_openai, name, value)
    res, took = _post_timed(client, "/api/v1/evaluations", _v2_headers(client))
    body = res.get_json()
    assert res.status_code == 200 and 0.9 <= took < 1.4, took  # answered within the budget (less the reserve)
    assert (res.headers["X-Variant"], res.headers["X-Variant-Reason"]) == ("v1", "v2-timeout")
    assert body["variant"] == "v1" and body["requested_variant"] == "v2" and body["engine"] == "rules-v1"
    assert body["fallback_code"] == "AI_PROVIDER_TIMEOUT" and "v2 failed" in body["note"]
    assert {"R7", "R8"} <= {f["rule_id"] for f in body["findings"]}
    assert len(fake_openai.requests) == 1
    from backend_app.services.flags import guard

    assert guard.window_counts() == (1, 1)  # the canary guard counts the timeout as a v2 error


@pytest.mark.sqlite_only
def test_a_rewrite_makes_one_model_call(client, openai_app, fake_openai):
    fake_openai.responder = lambda req: json.dumps(_v2_answer(rewrite="The system shall answer within 2 s."))
    res = client.post("/api/v1/rewrites", headers=_v2_headers(client), json={"requirementText": TEXT})
    body = res.get_json()
    assert res.headers["X-Variant"] == "v2" and body["variant"] == "v2"
    assert body["rewrite"] == "The system shall answer within 2 s." and body["findings"][0]["rule_id"] == "R7"
    assert len(fake_openai.requests) == 1
    assert "rewrite" in fake_openai.requests[0]["messages"][0]["content"]  # findings and sentence asked at once


@pytest.mark.sqlite_only
def test_no_repair_call_when_the_deadline_has_passed(client, openai_app, fake_openai):
    """An invalid answer is repaired with a second call only while the budget has time left."""
    openai_app.config["SETTINGS"] = openai_app.config["SETTINGS"].replace(v2_deadline_s=0.5)
    fake_openai.responder = lambda req: "not json"
    fake_openai.delay_s = 0.6  # the first (invalid) answer uses up the budget... and is cut
    res, took = _post_timed(client, "/api/v1/suggestions", _v2_headers(client))
    assert res.headers["X-Variant-Reason"] == "v2-timeout" and took < 0.9
    assert len(fake_openai.requests) == 1


@pytest.mark.sqlite_only
def test_other_fallbacks_say_v1_too(client, openai_app, fake_openai):
    fake_openai.responder = lambda req: {"status": 400, "body": {"error": {"message": "bad"}}}
    res = client.post("/api/v1/evaluations", headers=_v2_headers(client), json={"requirementText": TEXT})
    assert (res.headers["X-Variant"], res.headers["X-Variant-Reason"]) == ("v1", "v2-failed")
    assert res.get_json()["fallback_code"] == "AI_PROVIDER_FAILED"


@pytest.mark.sqlite_only
@pytest.mark.settings(guard_min_samples=3, guard_error_rate=0.5)
def test_timeouts_trip_the_canary_guard(client, openai_app, fake_openai):
    from backend_app.services import flags

    openai_app.config["SETTINGS"] = openai_app.config["SETTINGS"].replace(v2_deadline_s=0.3)
    flags.set_flag("use_v2", enabled=True, rollout_percent=100, actor="t")
    fake_openai.responder = lambda req: json.dumps(_v2_answer())
    fake_openai.delay_s = 1.0
    headers = auth_headers(client, make_user())
    reasons = []
    for i in range(4):
        res = client.post("/api/v1/evaluations", headers=headers, json={"requirementText": f"{TEXT} ({i})"})
        reasons.append(res.headers["X-Variant-Reason"])
    assert reasons[:3] == ["v2-timeout"] * 3 and reasons[3] == "rolled back"
    audit = flags.audit_log("use_v2")[0]
    assert (audit.actor, audit.action) == ("guard", "guard")
