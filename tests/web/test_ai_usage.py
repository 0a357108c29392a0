"""What a user's model calls cost them: an admin sets the budget (API, CLI, users page), the user
sees usage per day and per feature, unanswered calls included; the admin health page shows the
model endpoint."""

from __future__ import annotations

import pytest

from backend_app.services import ai
from tests.factories import auth_headers, make_user
from tests.web.conftest import text

pytestmark = pytest.mark.sqlite_only
MSGS = [{"role": "user", "content": "hi"}]


def test_an_admin_sets_and_resets_a_users_budget(client):
    user, admin = make_user(), make_user("admin")
    url = f"/api/v1/admin/users/{user.id}/budget"
    admin_h, user_h = auth_headers(client, admin), auth_headers(client, user)
    assert client.get(url, headers=admin_h).get_json() == {
        "user_id": user.id,
        "monthly_budget_usd": None,
        "budget_usd": 10.0,
        "spent_usd": 0.0,
        "remaining_usd": 10.0,
    }
    assert client.put(url, json={"monthly_budget_usd": 3.5}, headers=user_h).status_code == 403
    changed = client.put(url, json={"monthly_budget_usd": 3.5}, headers=admin_h).get_json()
    assert (changed["monthly_budget_usd"], changed["budget_usd"]) == (3.5, 3.5)
    assert client.get("/api/v1/usage", headers=user_h).get_json()["budget_usd"] == 3.5
    reset = client.put(url, json={"monthly_budget_usd": None}, headers=admin_h).get_json()
    assert (reset["monthly_budget_usd"], reset["budget_usd"]) == (None, 10.0)
    for bad in ({"monthly_budget_usd": -1}, {"monthly_budget_usd": "lots"}, {}):
        refused = client.put(url, json=bad, headers=admin_h)
        assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "VALIDATION_ERROR"
    missing = client.put("/api/v1/admin/users/nobody/budget", json={"monthly_budget_usd": 1}, headers=admin_h)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "USER_NOT_FOUND"


def test_cli_set_budget(app):
    user = make_user()
    runner = app.test_cli_runner()
    done = runner.invoke(args=["users", "set-budget", "--email", user.email, "--usd", "2.5"])
    assert done.exit_code == 0 and f"budget of {user.email}: $2.50/month" in done.output
    back = runner.invoke(args=["users", "set-budget", "--email", user.email, "--usd", "default"])
    assert back.exit_code == 0 and "$10.00/month (default)" in back.output
    assert runner.invoke(args=["users", "set-budget", "--email", user.email, "--usd", "-1"]).exit_code != 0
    assert runner.invoke(args=["users", "set-budget", "--email", user.email, "--usd", "x"]).exit_code != 0


def test_users_page_sets_a_budget(admin_page, page):
    body = text(admin_page.get("/admin/users"))
    assert 'name="monthly_budget_usd"' in body and 'placeholder="10.0"' in body
    response = admin_page.post(f"/admin/users/{page.user.id}/quota", data={"monthly_budget_usd": "4.25"}, htmx=True)
    assert response.status_code == 200 and "AI budget $4.25/month" in text(response)
    assert 'value="4.25"' in text(response)
    bad = admin_page.post(f"/admin/users/{page.user.id}/quota", data={"monthly_budget_usd": "much"}, htmx=True)
    assert bad.status_code == 422 and "monthly_budget_usd" in text(bad)


def test_usage_per_day_and_feature_counts_unanswered_calls(openai_app, fake_openai, client):
    user = make_user()
    fake_openai.responder = lambda req: "fine"
    ai.complete(MSGS, user_id=user.id, purpose="chat")
    ai.complete(MSGS, user_id=user.id, purpose="chat")  # cached
    fake_openai.responder = lambda req: {"status": 500, "body": {"error": {"message": "down"}}}
    with pytest.raises(ai.AIProviderFailed):
        ai.complete([{"role": "user", "content": "other"}], user_id=user.id, purpose="requirements", attempts=1)
    body = client.get("/api/v1/usage", headers=auth_headers(client, user)).get_json()
    by_purpose = {p["purpose"]: p for p in body["by_purpose"]}
    assert (by_purpose["chat"]["calls"], by_purpose["chat"]["cached_calls"]) == (2, 1)
    assert (by_purpose["requirements"]["calls"], by_purpose["requirements"]["unanswered_calls"]) == (1, 1)
    (today,) = body["by_day"]
    assert today["calls"] == 3 and today["by_purpose"]["chat"]["calls"] == 2 and today["tokens"] > 0


def test_admin_health_page_shows_the_model_endpoint(openai_app, fake_openai, client):
    from backend_app.adapters import llm
    from tests.web.conftest import PageClient

    with openai_app.app_context():
        llm.probe()  # what a worker does at start
    admin = PageClient(openai_app.test_client(), make_user("admin"))
    body = text(admin.get("/admin/health"))
    assert 'data-check="ai"' in body and "gpt-4o-mini" in body
    assert 'data-testid="ai-reachable">yes' in body and "json_mode: True" in body
