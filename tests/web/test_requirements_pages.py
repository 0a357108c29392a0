"""Requirements page: one requirement checked, findings highlighted from the same request."""

from __future__ import annotations

import json

import pytest

from backend_app.extensions import db
from backend_app.models import RequirementResult
from backend_app.web.highlight import score_class, segments
from tests.web.conftest import text

pytestmark = pytest.mark.sqlite_only
VAGUE = "The system should respond quickly and be user-friendly."


def test_segments_split_at_every_finding_boundary():
    findings = [{"span": [4, 10], "severity": "low"}, {"span": [8, 14], "severity": "high"}, {"span": [99, 120]}]
    parts = segments("abcdefghijklmnop", findings)
    assert "".join(p.text for p in parts) == "abcdefghijklmnop"
    assert [(p.text, p.findings, p.severity) for p in parts] == [
        ("abcd", [], None),
        ("efgh", [0], "low"),
        ("ij", [0, 1], "high"),
        ("klmn", [1], "high"),
        ("op", [], None),
    ]
    bands = [score_class(s) for s in (95, 80, 60, 10, None)]
    assert bands == ["score-good", "score-good", "score-mid", "score-bad", ""]


def test_page_renders_the_form_and_criteria(page):
    body = text(page.get("/requirements"))
    assert 'data-testid="requirement-form"' in body and "measurability" in body


def test_check_highlights_findings_and_shows_variant(page):
    response = page.post("/requirements/check", data={"requirementText": VAGUE, "mode": "evaluate"}, htmx=True)
    body = text(response)
    assert response.status_code == 200 and "<html" not in body
    assert '<mark class="sev-' in body and ">quickly</mark>" in body
    assert 'data-testid="variant"' in body and "served by v1" in body
    assert 'class="score score-' in body
    assert db.session.query(RequirementResult).count() == 0  # the single check stores nothing


def test_rewrite_mode_shows_the_rewrite(page):
    body = text(page.post("/requirements/check", data={"requirementText": VAGUE, "mode": "rewrite"}, htmx=True))
    assert 'data-testid="rewrite"' in body and "&lt;value&gt;" in body
    # "should" is left as it is (shall or may is the author's decision) and the page says so
    assert 'data-testid="unresolved"' in body and "R1" in body.split('data-testid="unresolved"', 1)[1]


def test_suggest_mode_lists_a_fix_per_finding_which_evaluate_does_not(page):
    suggested = text(page.post("/requirements/check", data={"requirementText": VAGUE, "mode": "suggest"}, htmx=True))
    evaluated = text(page.post("/requirements/check", data={"requirementText": VAGUE, "mode": "evaluate"}, htmx=True))
    assert 'data-testid="suggestions"' in suggested and 'data-testid="suggestions"' not in evaluated
    assert suggested.count('<li data-rule="') == suggested.count('<tr data-rule="') > 0
    fine = text(
        page.post(
            "/requirements/check",
            htmx=True,
            data={
                "requirementText": "The exporter shall write the monthly report as PDF within 5 s.",
                "mode": "suggest",
            },
        )
    )
    assert "Nothing to fix" in fine and "<li data-rule=" not in fine


def test_empty_requirement_says_what_to_do(page):
    body = text(page.post("/requirements/check", data={"requirementText": "  "}, htmx=True))
    assert "The requirement text is empty" in body and "requirementText" not in body.split("error-box", 1)[1]


def test_full_page_post_without_htmx(page):
    response = page.post("/requirements/check", data={"requirementText": VAGUE, "criteria": ["clarity"]})
    body = text(response)
    assert response.status_code == 200 and "<html" in body and 'data-criterion="clarity"' in body
    assert 'data-criterion="testability"' not in body


def test_check_needs_csrf(page):
    assert page.post("/requirements/check", data={"requirementText": VAGUE}, csrf=False).status_code == 403


def test_canary_user_is_served_by_v2_and_the_page_says_so(openai_app, fake_openai, page):
    from backend_app.services import flags

    text_sent = "The system shall be fast."
    start = text_sent.index("fast")
    fake_openai.responder = lambda req: json.dumps(
        {
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
        }
    )
    flags.set_flag("use_v2", enabled=True, rollout_percent=100, actor="test")
    response = page.post("/requirements/check", data={"requirementText": text_sent}, htmx=True)
    body = text(response)
    assert response.headers["X-Variant"] == "v2"
    assert "served by v2" in body and '<mark class="sev-high"' in body and ">fast</mark>" in body
    assert len(fake_openai.requests) == 1
