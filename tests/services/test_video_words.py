"""Offline descriptions, quality warnings and shot-document text: pure functions of the measured signals."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from backend_app.adapters.vision import decode
from backend_app.services.chat import shot_documents
from backend_app.services.video import describe, describe_openai, quality
from backend_app.services.video import report as video_report


def shot(index=0, **signals) -> dict:
    base = {
        "index": index,
        "start_s": 0.0,
        "end_s": 2.5,
        "brightness": 0.5,
        "motion": 0.0,
        "sharpness": 500.0,
        "contrast": 0.2,
        "detail": 1.2,
        "shake": 0.1,
        "blurry": False,
        "faces": 0,
        "qr_texts": [],
        "colors": [],
    }
    return {**base, **signals}


def test_offline_description_says_what_was_measured_and_nothing_else():
    text = describe.offline_description(
        shot(
            brightness=0.1,
            motion=0.005,
            faces=1,
            qr_texts=["https://x.test/a"],
            colors=[
                {"name": "green", "hex": "#00ff00", "share": 0.6},
                {"name": "white", "hex": "#ffffff", "share": 0.3},
            ],
        )
    )
    assert text == (
        "Dark, mostly static shot (2.5 s) with 1 face; mostly green and white; QR code reads 'https://x.test/a'."
    )
    assert describe.offline_description(shot(brightness=0.8, motion=0.05)) == "Bright, fast-moving shot (2.5 s)."
    assert describe.offline_labels(shot(faces=2, blurry=True)) == ["well-lit", "static", "faces", "blurry"]


def test_offline_provider_is_deterministic_and_honest_about_itself():
    shots = [shot(0), shot(1, faces=1)]
    first, second = (
        describe.describe(shots, 5.0, provider="offline", user_id=None),
        describe.describe(shots, 5.0, provider="offline", user_id=None),
    )
    assert first.shots == second.shots and first.summary == second.summary
    assert first.ai == {
        "provider": "offline",
        "model": None,
        "ok": True,
        "note": "descriptions built from measured signals",
    }
    assert "faces seen in 1 shot" in first.summary and "offline provider" in first.summary


@pytest.mark.parametrize(
    "bad", ["not json", "{}", '{"shots": [{"index": "one", "description": "x"}]}', '{"shots": [{"index": 0}]}']
)
def test_a_malformed_vision_answer_is_rejected(bad):
    with pytest.raises(ValueError):
        describe_openai.validate_answer(bad)


def test_quality_warnings_name_the_shots_and_spans_and_say_what_was_measured():
    levels = decode.LEVELS
    shots = [shot(0, dark_share=0.9), shot(1, blurry=True, detail=0.21), shot(2, shake=3.0), shot(3)]
    passed = SimpleNamespace(black=[(1.0, 2.0)], frozen=[(4.0, 7.5)], levels=levels)
    warnings = {w["code"]: w for w in video_report.quality_warnings(shots, passed)}
    assert set(warnings) == {"TOO_DARK", "BLURRY", "SHAKY", "BLACK_FRAMES", "FROZEN_FRAMES"}
    assert warnings["TOO_DARK"]["shots"] == [0] and warnings["SHAKY"]["shots"] == [2]
    assert warnings["TOO_DARK"]["measured"] == {
        "metric": "dark_frame_share",
        "value": 0.9,
        "threshold": quality.DARK_SHARE,
        "unit": "share",
    }
    assert (
        "in 90 % of its analysed frames even the brightest 5 % of the picture was under 0.35 brightness (threshold: more than 50 % of a shot's frames)"
        in (warnings["TOO_DARK"]["message"])
    )
    assert warnings["BLURRY"]["message"].startswith("Shot 2 is blurry: the edges at 160 px wide had 0.21 times")
    assert warnings["BLURRY"]["measured"]["value"] == 0.21
    assert "jumped 3.0 px per frame" in warnings["SHAKY"]["message"]
    assert warnings["SHAKY"]["measured"] == {
        "metric": "shift_jitter",
        "value": 3.0,
        "threshold": quality.SHAKY_JITTER,
        "unit": "px_per_frame",
    }
    assert (
        "at 1.0-2.0 s (1.0 s in all): frames with brightness under 0.06 and contrast under 0.03,"
        in warnings["BLACK_FRAMES"]["message"]
    )
    assert (
        "4.0-7.5 s (3.5 s in all): the picture changed by less than 0.0015 per frame and under 0.2 % of its pixels changed, reported from 2 s."
        in warnings["FROZEN_FRAMES"]["message"]
    )
    assert warnings["FROZEN_FRAMES"]["measured"] == {"metric": "seconds", "value": 3.5, "threshold": 2.0, "unit": "s"}
    none = SimpleNamespace(black=[], frozen=[], levels=levels)
    two = video_report.quality_warnings([shot(0, blurry=True, detail=0.3), shot(1, blurry=True, detail=0.2)], none)
    assert two[0]["message"].startswith("Shots 1, 2 are blurry: the edges at 160 px wide had 0.20-0.30 times")
    # the mean brightness alone says nothing: a dark-walled room with lit figures is no dark shot
    assert video_report.quality_warnings([shot(0, brightness=0.15, dark_share=0.0)], none) == []
    assert video_report.quality_warnings([shot(0)], none) == []


def test_the_light_word_follows_the_dark_measure_when_the_report_has_it():
    assert describe.signal_words(shot(brightness=0.15, dark_share=0.0))["light"] == "dim"
    assert describe.signal_words(shot(brightness=0.3, dark_share=0.8))["light"] == "dark"
    assert describe.signal_words(shot(brightness=0.1))["light"] == "dark"  # a report from before the measure


def test_damaged_data_is_named_with_where_it_was_and_nothing_is_said_without_damage():
    passed = SimpleNamespace(damaged_packets=6, damaged=[(2.92, 3.0), (4.16, 4.32)])
    (warning,) = video_report.damage_warning(passed)
    assert warning["code"] == "DAMAGED_DATA" and warning["spans"] == [[2.92, 3.0], [4.16, 4.32]]
    assert warning["message"].startswith("6 frames of the file") and "2.9-3.0 s, 4.2-4.3 s" in warning["message"]
    assert video_report.damage_warning(SimpleNamespace(damaged_packets=0, damaged=[])) == []


def test_shot_document_text_carries_everything_chat_may_be_asked():
    report = {"warnings": [{"code": "TOO_DARK", "message": "…", "shots": [0]}]}
    data = shot(
        0,
        brightness=0.1,
        faces=1,
        qr_texts=["WIFI:S:cafe"],
        labels=["dark", "face"],
        description="Dark shot with 1 face.",
        colors=[{"name": "navy", "hex": "#000080", "share": 0.7}],
    )
    text = shot_documents.shot_text(data, shot_documents.shot_warnings(report, 0))
    for needle in (
        "Dark shot with 1 face.",
        "Seen: dark, face.",
        "Mostly navy (blue).",
        "1 face.",
        "QR code: WIFI:S:cafe.",
        "Dark and static.",
        "Warnings: too dark.",
    ):
        assert needle in text
    # No field label is written into every document (it would match every question that uses it).
    faceless = shot_documents.shot_text(shot(1, brightness=0.5, description="A wall."), [])
    assert faceless == "A wall. Well-lit and static."
    assert not {"colour", "colours", "faces", "face", "brightness", "motion", "labels"} & set(faceless.lower().split())
