"""The model's study material against a real local Chat Completions server (tests/fake_openai.py):
schema validation, one repair, the offline path after, grounding, usage and budget."""

from __future__ import annotations

import json

from backend_app.extensions import db
from backend_app.models import UsageRecord
from backend_app.services.study import build, offline
from tests.factories import make_user
from tests.services.study.test_offline import ML, assert_grounded

GOOD = {
    "summary": "Machine learning lets computers learn; gradient descent trains models.",
    "key_terms": [
        {"term": "Machine learning", "definition": "Learning from data", "page": 1},
        {"term": "Gradient descent", "definition": "An iterative method", "page": 1},  # wrong page: dropped
        {"term": "Epoch", "definition": "A full pass", "page": 9},  # no such page: dropped
    ],
    "flashcards": [
        {"question": "What follows the negative gradient?", "answer": "gradient descent", "page": 2},
        {"question": "What is a quantum computer?", "answer": "a qubit machine", "page": 1},  # not in the text
    ],
    "quiz": [
        {
            "question": "Which model has neurons?",
            "options": ["neural network", "Epoch"],
            "answer": "neural network",
            "page": 1,
        },  # fmt: skip
        {"question": "Pick one", "options": ["Batch", "Epoch"], "answer": "Osmose", "page": 4},  # not an option
    ],
}


def answer_with(*answers):
    """A responder giving each answer in turn (the last one again after that)."""
    given = list(answers)

    def respond(request):
        return given.pop(0) if len(given) > 1 else given[0]

    return respond


def test_a_valid_answer_keeps_only_items_whose_page_holds_their_answer(openai_app, fake_openai):
    user = make_user()
    fake_openai.responder = answer_with(json.dumps(GOOD))
    made = build.build(ML, user_id=user.id)
    assert made["provider"] == "openai" and made["fallback"] is None and made["dropped"] == 4
    material = made["material"]
    assert [k["term"] for k in material["key_terms"]] == ["Machine learning"]
    assert [c["answer"] for c in material["flashcards"]] == ["gradient descent"]
    assert [q["answer"] for q in material["quiz"]] == ["neural network"]
    assert_grounded(material, ML, extractive=False)
    request = fake_openai.requests[0]
    assert request["response_format"] == {"type": "json_object"}
    assert request["max_tokens"] == openai_app.config["SETTINGS"].llm_max_tokens_study == 4000
    assert "Page" not in request["messages"][1]["content"] and '"page": 4' in request["messages"][1]["content"]
    rows = UsageRecord.query.filter_by(user_id=user.id, purpose="study").all()
    assert len(rows) == 1 and rows[0].cost_usd > 0 and rows[0].outcome == "ok"


def test_an_invalid_answer_is_repaired_once_with_the_validation_error(openai_app, fake_openai):
    user = make_user()
    broken = {**GOOD, "quiz": [{"question": "Q", "options": ["only one"], "answer": "only one", "page": 1}]}
    fake_openai.responder = answer_with(json.dumps(broken), json.dumps(GOOD))
    made = build.build(ML, user_id=user.id)
    assert made["provider"] == "openai" and made["material"]["key_terms"][0]["term"] == "Machine learning"
    assert len(fake_openai.requests) == 2
    repair = fake_openai.requests[1]["messages"][-1]["content"]
    assert "schema violation at quiz/0/options" in repair
    assert UsageRecord.query.filter_by(user_id=user.id, purpose="study").count() == 2


def test_two_invalid_answers_fall_back_to_the_offline_material(openai_app, fake_openai):
    user = make_user()
    fake_openai.responder = answer_with("Here are your flashcards: ...")
    made = build.build(ML, user_id=user.id)
    assert len(fake_openai.requests) == 2
    assert made["provider"] == "offline" and made["fallback"]["code"] == "AI_INVALID_OUTPUT"
    assert "not JSON" in made["fallback"]["message"]
    assert made["material"] == offline.generate(ML)
    rows = UsageRecord.query.filter_by(user_id=user.id, purpose="study").all()
    assert len(rows) == 2 and {r.outcome for r in rows} == {"invalid"}  # paid for, though unusable


def test_an_answer_with_no_grounded_item_falls_back(openai_app, fake_openai):
    user = make_user()
    ungrounded = {"summary": "s", "key_terms": [{"term": "Quark", "definition": "d", "page": 1}], "flashcards": [],
                  "quiz": []}  # fmt: skip
    fake_openai.responder = answer_with(json.dumps(ungrounded))
    made = build.build(ML, user_id=user.id)
    assert made["provider"] == "offline" and made["fallback"]["code"] == "AI_UNGROUNDED"


def test_a_failing_provider_and_a_spent_budget_fall_back_without_a_second_call(openai_app, fake_openai):
    user = make_user()
    fake_openai.responder = lambda request: {"status": 400, "body": {"error": {"message": "bad request"}}}
    made = build.build(ML, user_id=user.id)
    assert made["provider"] == "offline" and made["fallback"]["code"] == "AI_PROVIDER_FAILED"
    calls = len(fake_openai.requests)
    user.monthly_budget_usd = 0.0
    db.session.commit()
    fake_openai.responder = answer_with(json.dumps(GOOD))
    made = build.build(ML, user_id=user.id)
    assert made["provider"] == "offline" and made["fallback"]["code"] == "BUDGET_EXCEEDED"
    assert len(fake_openai.requests) == calls  # the budget is checked before the endpoint is called


def test_the_cache_key_follows_text_provider_and_model(app, openai_app):
    key = build.cache_key(ML)
    assert build.cache_key([*ML]) == key
    assert build.cache_key([(1, ML[0][1] + " More.", ML[0][2]), *ML[1:]]) != key
    openai_app.config["SETTINGS"] = openai_app.config["SETTINGS"].replace(openai_model="gpt-4.1")
    assert build.cache_key(ML) != key
    openai_app.config["SETTINGS"] = openai_app.config["SETTINGS"].replace(ai_provider="offline")
    assert build.cache_key(ML) not in {key}
