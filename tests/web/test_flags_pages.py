"""Admin flags page: slider, toggle, rollback with reason, audit, guard banner."""

from __future__ import annotations

import pytest

from backend_app.services import flags
from tests.web.conftest import text


def test_flags_page_is_admin_only(page):
    assert page.get("/admin/flags").status_code == 403


def test_set_canary_then_roll_back_with_reason(admin_page):
    body = text(admin_page.get("/admin/flags"))
    assert 'data-flag="use_v2"' in body and "your bucket" in body
    response = admin_page.post("/admin/flags/use_v2", data={"enabled": "on", "rollout_percent": "50"}, htmx=True)
    assert response.status_code == 200 and "use_v2 is on for 50 %" in text(response)
    flag = flags.get_flag("use_v2")
    assert flag.enabled and flag.rollout_percent == 50
    on_for_all = admin_page.post("/admin/flags/use_v2", data={"enabled": "on", "rollout_percent": "100"}, htmx=True)
    assert "you get v2 now" in text(on_for_all)  # this request was decided before the change: v1
    refused = admin_page.post("/admin/flags/use_v2/rollback", data={"reason": ""}, htmx=True)
    assert refused.status_code == 422 and "Say why you roll back" in text(refused)
    done = admin_page.post("/admin/flags/use_v2/rollback", data={"reason": "errors in v2"}, htmx=True)
    assert "rolled back" in text(done) and "errors in v2" in text(done)
    assert 'data-testid="flag-state">off' in text(done) and "you get v1 now" in text(done)
    assert not flags.get_flag("use_v2").enabled
    actions = [a.action for a in flags.audit_log("use_v2")]
    assert actions[:2] == ["rollback", "update"]


@pytest.mark.sqlite_only
def test_bad_percent_says_what_to_do(admin_page):
    response = admin_page.post("/admin/flags/use_v2", data={"enabled": "on", "rollout_percent": "lots"}, htmx=True)
    assert response.status_code == 422 and "whole number from 0 to 100" in text(response)
    response = admin_page.post("/admin/flags/use_v2", data={"enabled": "on", "rollout_percent": "150"}, htmx=True)
    assert response.status_code == 422 and "rollout_percent" in text(response)


@pytest.mark.sqlite_only
def test_flag_change_needs_csrf(admin_page):
    response = admin_page.post("/admin/flags/use_v2", data={"enabled": "on", "rollout_percent": "50"}, csrf=False)
    assert response.status_code == 403
    assert not flags.get_flag("use_v2").enabled


@pytest.mark.sqlite_only
def test_guard_rollback_shows_a_banner(admin_page):
    flags.set_flag("use_v2", enabled=True, rollout_percent=50, actor="test")
    flags.rollback("use_v2", actor="guard", reason="guard: v2 error rate 5/10 = 50.0%", action="guard")
    body = text(admin_page.get("/admin/flags"))
    assert 'data-testid="guard-banner"' in body and "50.0%" in body
    assert 'data-testid="guard-banner-global"' in text(admin_page.get("/sessions"))
