"""A slide video's report (ANALYSERS=text): a still picture with text read on it is a slide, said
as a fact (SLIDES), not FROZEN_FRAMES or TOO_DARK; a still picture with no text keeps its
warnings. The offline words name the text seen in a shot and count what the analysers found."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from backend_app.adapters.ai import ocr
from backend_app.services.video import pipeline as video_pipeline
from backend_app.services.video.quality import DARK_SHARE, quality_warnings, slide_facts
from backend_app.settings import load_settings
from tests.analysers.text_media import Scene, text_video

NAVY, WHITE = (20, 30, 90), (250, 250, 250)
QUARTERLY = "Quarterly Report"
LEVELS = {
    "dark_highlights": 0.3,
    "analysis_width": 320,
    "black_brightness": 0.05,
    "black_contrast": 0.02,
    "black_min_s": 0.5,
    "frozen_motion": 0.0015,
    "frozen_changed": 0.002,
    "frozen_min_s": 2.0,
}


def _shot(index: int, start_s: float, end_s: float, dark_share: float) -> dict:
    return {"index": index, "start_s": start_s, "end_s": end_s, "dark_share": dark_share, "blurry": False, "shake": 0}


def test_a_still_stretch_with_text_read_is_a_slide_fact_and_without_text_a_warning():
    shots = [_shot(0, 0.0, 6.0, 1.0), _shot(1, 6.0, 8.0, 0.0), _shot(2, 8.0, 12.0, 1.0)]
    passed = SimpleNamespace(levels=LEVELS, black=[], frozen=[(0.2, 6.0), (8.1, 12.0)])
    texts = [{"start_s": 0.5, "end_s": 6.0, "text": QUARTERLY}]

    warnings = {w["code"]: w for w in quality_warnings(shots, passed, texts)}
    assert set(warnings) == {"TOO_DARK", "FROZEN_FRAMES"}
    assert warnings["TOO_DARK"]["shots"] == [2] and warnings["FROZEN_FRAMES"]["spans"] == [[8.1, 12.0]]
    assert slide_facts(passed, texts) == [
        {
            "code": "SLIDES",
            "message": "Still picture with text (slides) at 0.2-6.0 s (5.8 s in all).",
            "spans": [[0.2, 6.0]],
        }
    ]
    # without the text analyser's texts, both still stretches are warned about, as before
    plain = {w["code"]: w for w in quality_warnings(shots, passed)}
    assert plain["TOO_DARK"]["shots"] == [0, 2] and len(plain["FROZEN_FRAMES"]["spans"]) == 2
    assert slide_facts(passed, []) == []


@pytest.mark.skipif(
    bool(ocr.INFO.missing()), reason=f"not installed: {ocr.INFO.missing()} (pip install -r requirements-ai.txt)"
)
def test_a_slide_video_reports_slides_as_a_fact_and_names_its_text(tmp_path):
    scenes = [
        Scene(0, 6, ((QUARTERLY, (200, 220)),), bg=NAVY, fg=WHITE),
        Scene(6, 8),  # a moving picture between
        Scene(
            8, 12, (("blank", (200, 220)),), bg=NAVY, fg=NAVY
        ),  # still, nothing to read (text in the background colour)
    ]
    path = text_video(tmp_path / "deck.mp4", scenes)
    settings = load_settings({"ANALYSERS": "text"}, ai_provider="offline", data_dir=str(tmp_path / "data"))
    out = video_pipeline.analyse_file(str(path), str(tmp_path / "work"), settings)
    report = video_pipeline.describe_and_report(out, settings, user_id=None)

    assert [t["text"] for t in report["texts"]] == [QUARTERLY], report["texts"]
    codes = {w["code"]: w for w in report["warnings"]}
    facts = {f["code"]: f for f in report["facts"]}
    assert set(facts) == {"SLIDES"} and facts["SLIDES"]["message"].startswith("Still picture with text (slides) at 0.")
    assert all(a < 6.0 for a, _ in facts["SLIDES"]["spans"])
    # the blank still stretch after the moving picture keeps its warning; the slide has none
    assert "FROZEN_FRAMES" in codes and all(a >= 7.9 for a, _ in codes["FROZEN_FRAMES"]["spans"]), codes
    slide = next(s for s in report["shots"] if s["start_s"] < 1.0)
    assert slide["dark_share"] > DARK_SHARE  # the measure alone would call the navy slide too dark
    assert slide["index"] not in codes.get("TOO_DARK", {}).get("shots", [])
    assert slide["description"].endswith(f"Text on screen: “{QUARTERLY}”."), slide["description"]
    assert all("Text on screen" not in s["description"] for s in report["shots"] if s["start_s"] >= 6.0)
    assert "; 1 on-screen text." in report["summary"]["description"]
    assert report["summary"]["on_screen_texts"] == 1 and "spoken_segments" not in report["summary"]
