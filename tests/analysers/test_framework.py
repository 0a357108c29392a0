"""The analyser framework (services/video/analysers.py) through the real pipeline, with test-double
analyser modules: which run, how a missing or failing one is reported, where their parts land."""

from __future__ import annotations

import pytest

from backend_app.services.video import analysers
from backend_app.services.video import pipeline as video_pipeline
from backend_app.settings import DEFAULT_ANALYSERS, KNOWN_ANALYSERS, SettingsError, load_settings
from tests import media
from tests import video_scenes as scenes
from tests.analysers import doubles


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(analysers.MODULES, "speech", "tests.analysers.doubles")
    monkeypatch.setitem(analysers.MODULES, "text", "tests.analysers.broken")
    monkeypatch.setitem(analysers.MODULES, "faces", "tests.analysers.missing")
    monkeypatch.setitem(analysers.MODULES, "pose", "tests.analysers.not_a_module")


def _settings(tmp_path, names: str):
    return load_settings({"ANALYSERS": names}, ai_provider="offline", data_dir=str(tmp_path / "data"))


def test_every_known_name_has_a_module_and_the_product_default_is_speech_text_faces():
    assert tuple(analysers.MODULES) == KNOWN_ANALYSERS
    # tests/conftest.py sets the default to none for the suite; the product's is in the source
    import ast
    import inspect

    from backend_app import settings as settings_module

    tree = ast.parse(inspect.getsource(settings_module))
    assigned = next(
        n.value
        for n in tree.body
        if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "DEFAULT_ANALYSERS"
    )
    assert ast.literal_eval(assigned) == ("speech", "text", "faces")
    assert DEFAULT_ANALYSERS == ("none",)


def test_unknown_names_and_none_with_names_are_refused_at_start(tmp_path):
    with pytest.raises(SettingsError, match="ANALYSERS has unknown names"):
        _settings(tmp_path, "speech,ocr")
    with pytest.raises(SettingsError, match="none cannot be combined"):
        _settings(tmp_path, "none,faces")


def test_statuses_say_ready_disabled_not_installed_and_not_built(tmp_path, registered):
    rows = {r["name"]: r for r in analysers.statuses(_settings(tmp_path, "speech,faces,pose"))}
    assert rows["speech"]["state"] == "ready"
    assert rows["text"]["state"] == "disabled"
    assert rows["faces"]["state"] == "not_installed"
    assert "framewise_no_such_package" in rows["faces"]["reason"] and "requirements-ai.txt" in rows["faces"]["reason"]
    assert rows["pose"]["state"] == "not_built"
    assert analysers.runnable(_settings(tmp_path, "speech,faces,pose")) == ["speech"]


def test_warm_loads_each_runnable_analyser_once_and_a_failing_load_does_not_stop_the_others(tmp_path, registered):
    doubles.WARMED.clear()
    analysers.warm(_settings(tmp_path, "text,speech"))  # text's warm raises; speech still loads
    assert doubles.WARMED == ["speech"]


def test_the_pipeline_feeds_keyframes_reports_parts_and_isolates_a_failing_or_missing_analyser(tmp_path, registered):
    media.require_ffmpeg()
    path = scenes.cut_clip(tmp_path / "two.mp4", [20], 40)
    out = video_pipeline.analyse_file(str(path), str(tmp_path / "work"), _settings(tmp_path, "speech,text,faces"))
    report = video_pipeline.describe_and_report(out, _settings(tmp_path, "speech,text,faces"), user_id=None)

    assert [s["index"] for s in out.shots] == [0, 1]
    # the double saw each shot's keyframe once, with the shot's times, and its parts are in the report
    assert [t["text"] for t in report["transcript"]] == ["shot 0", "shot 1"]
    assert report["transcript"][1]["start_s"] == pytest.approx(20 / out.meta.fps, abs=0.05)
    assert [s["people_count"] for s in report["shots"]] == [1, 1]
    states = {r["name"]: r for r in report["analysers"]}
    assert states["speech"]["state"] == "ran"
    assert states["text"]["state"] == "failed" and "cannot read this picture" in states["text"]["reason"]
    assert states["faces"]["state"] == "not_installed"
    assert "analyser_speech" in report["timings"] and "analyser_text" in report["timings"]
    assert report["texts"] == [] and report["people"] == []  # nothing from the failed or missing ones


def test_no_analyser_leaves_empty_parts(tmp_path):
    media.require_ffmpeg()
    path = scenes.cut_clip(tmp_path / "one.mp4", [], 20)
    settings = _settings(tmp_path, "none")
    out = video_pipeline.analyse_file(str(path), str(tmp_path / "work"), settings)
    report = video_pipeline.describe_and_report(out, settings, user_id=None)
    assert report["transcript"] == report["texts"] == report["people"] == report["analysers"] == []
