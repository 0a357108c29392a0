"""The opt-in content-flags analyser (adapters/ai/nsfw.py). NudeNet is AGPL and never installed in
the shared venv: its model tests skip saying so; the "not installed" status and the scoring rules
run everywhere."""

from __future__ import annotations

import importlib.util

import pytest

from backend_app.adapters.ai import nsfw
from backend_app.services.video import analysers
from backend_app.services.video import pipeline as video_pipeline
from backend_app.settings import load_settings
from tests.analysers.faces_media import draw_person, scenes_clip

INSTALLED = importlib.util.find_spec("nudenet") is not None
needs_nudenet = pytest.mark.skipif(not INSTALLED, reason="nudenet not installed (AGPL, opt-in: make install-nsfw)")


def _settings(tmp_path):
    return load_settings({"ANALYSERS": "nsfw"}, ai_provider="offline", data_dir=str(tmp_path / "data"))


@pytest.mark.skipif(INSTALLED, reason="nudenet is installed here")
def test_without_nudenet_the_analyser_is_not_installed_and_the_analysis_goes_on(tmp_path):
    row = analysers.status("nsfw", _settings(tmp_path))
    assert row["state"] == "not_installed"
    assert "nudenet" in row["reason"] and "requirements-nsfw.txt" in row["reason"]
    assert row["licence"].startswith("AGPL-3.0")

    clip = scenes_clip(tmp_path / "one.mp4", [None, draw_person("A")])
    out = video_pipeline.analyse_file(str(clip), str(tmp_path / "work"), _settings(tmp_path))
    report = video_pipeline.describe_and_report(out, _settings(tmp_path), user_id=None)
    assert len(report["shots"]) == 2
    assert report["analysers"] == [
        {"name": "nsfw", "state": "not_installed", "reason": row["reason"]},
    ]
    assert "nsfw" not in report["shots"][0] and all(w.get("code") != "CONTENT_FLAGGED" for w in report["warnings"])


def test_scores_count_only_exposed_classes_and_the_warning_names_shots_from_one():
    found = [
        {"class": "FACE_FEMALE", "score": 0.95, "box": [0, 0, 1, 1]},
        {"class": "BELLY_EXPOSED", "score": 0.9, "box": [0, 0, 1, 1]},
        {"class": "BUTTOCKS_EXPOSED", "score": 0.41, "box": [0, 0, 1, 1]},
    ]
    assert nsfw.score(found) == (0.41, [])
    found.append({"class": "FEMALE_BREAST_EXPOSED", "score": 0.83, "box": [0, 0, 1, 1]})
    assert nsfw.score(found) == (0.83, ["FEMALE_BREAST_EXPOSED"])
    assert nsfw.score([]) == (0.0, [])
    assert nsfw.warning({0: 0.1, 1: 0.2}) is None
    flag = nsfw.warning({0: 0.1, 1: 0.83, 2: nsfw.THRESHOLD, 3: None})
    assert flag["code"] == "CONTENT_FLAGGED" and flag["shots"] == [1, 2] and "shots 2, 3" in flag["message"]


@needs_nudenet
def test_a_clean_video_gets_scores_and_no_warning(tmp_path):
    clip = scenes_clip(tmp_path / "clean.mp4", [draw_person("A"), None])
    out = video_pipeline.analyse_file(str(clip), str(tmp_path / "work"), _settings(tmp_path))
    report = video_pipeline.describe_and_report(out, _settings(tmp_path), user_id=None)
    assert {r["name"]: r["state"] for r in report["analysers"]} == {"nsfw": "ran"}
    assert all(0.0 <= s["nsfw"] < nsfw.THRESHOLD for s in report["shots"])
    assert report["nsfw"]["keyframes"] == 2 and report["nsfw"]["flagged_shots"] == []
    assert all(w.get("code") != "CONTENT_FLAGGED" for w in report["warnings"])


def test_an_analysers_warning_joins_the_report_and_its_private_part_stays_out(tmp_path, monkeypatch):
    monkeypatch.setitem(analysers.MODULES, "nsfw", "tests.analysers.private_part")
    clip = scenes_clip(tmp_path / "one.mp4", [None])
    out = video_pipeline.analyse_file(str(clip), str(tmp_path / "work"), _settings(tmp_path))
    report = video_pipeline.describe_and_report(out, _settings(tmp_path), user_id=None)
    assert out.found["_secret"] == {"embedding": b"\x00" * 8}  # for the caller to store
    assert "_secret" not in report
    codes = [w["code"] for w in report["warnings"]]
    assert codes.count("CONTENT_FLAGGED") == 1
    assert report["summary"]["warnings"] == len(report["warnings"])
