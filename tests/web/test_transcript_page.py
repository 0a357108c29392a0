"""The report page's transcript (templates/analyses/_transcript.html): each segment links to its
second the way shot links do (data-seek: static/app.js seeks the player), with its language."""

from __future__ import annotations

import pytest

from backend_app.extensions import db
from tests.web.conftest import text
from tests.web.test_analysis_pages import _session, completed_analysis

pytestmark = pytest.mark.sqlite_only


def test_each_segment_seeks_the_player_to_its_second_and_shows_its_language(page):
    analysis = completed_analysis(page.user.id, _session(page).id)
    analysis.report = {
        **analysis.report,
        "transcript": [
            {"start_s": 3.1, "end_s": 4.9, "text": "The red balloon <b>", "language": "en"},
            {"start_s": 62.5, "end_s": 66.0, "text": "Guten Morgen", "language": "de"},
        ],
        "speech": {"note": "transcribed the first 70 s of 90 s (the budget of 60 s ran out)"},
        "analysers": [{"name": "speech", "state": "ran", "reason": "", "seconds": 1.0}],
    }
    db.session.commit()
    body = text(page.get(f"/analyses/{analysis.id}"))
    assert body.index('data-testid="transcript"') < body.index('data-testid="shot-strip"')  # under the player
    assert f'href="/analyses/{analysis.id}?t=3.1" data-seek="3.1"' in body
    assert f'href="/analyses/{analysis.id}?t=62.5" data-seek="62.5"' in body
    assert "0:03" in body and "1:02" in body and "The red balloon &lt;b&gt;" in body
    assert body.count('data-testid="segment-language"') == 2 and ">de</span>" in body
    assert "transcribed the first 70 s of 90 s" in body


def test_a_failed_speech_analyser_says_why_and_a_report_without_it_shows_no_section(page):
    analysis = completed_analysis(page.user.id, _session(page).id)
    assert 'data-testid="transcript"' not in text(page.get(f"/analyses/{analysis.id}"))
    reason = "SpeechError: http://127.0.0.1:9/v1: APIConnectionError: Connection error."
    analysis.report = {**analysis.report, "analysers": [{"name": "speech", "state": "failed", "reason": reason}]}
    db.session.commit()
    body = text(page.get(f"/analyses/{analysis.id}"))
    assert 'data-testid="transcript-state"' in body and "Speech: failed" in body and "APIConnectionError" in body
