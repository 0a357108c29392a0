"""The opt-in pose analyser (adapters/ai/pose.py) on drawn figures: posture and raised arms per
shot from MediaPipe Pose's landmarks, nobody on empty shots, and the posture rules themselves."""

from __future__ import annotations

import pytest

from backend_app.adapters.ai import pose
from backend_app.services.video import pipeline as video_pipeline
from backend_app.settings import load_settings
from tests.analysers.faces_media import draw_figure, scenes_clip

pytestmark = [
    pytest.mark.skipif(bool(pose.INFO.missing()), reason=f"pose analyser not installed: {pose.INFO.missing()}"),
    pytest.mark.timeout(300),
]


def test_posture_and_raised_arms_per_shot_and_nobody_on_an_empty_shot(tmp_path):
    pictures = [
        # each shot its own background (cuts); the drawings are found on these (not on every colour)
        draw_figure("standing", background=(210, 190, 230)),
        draw_figure("arms_up", background=(150, 200, 225)),
        draw_figure("sitting", background=(200, 200, 190)),
        None,
    ]
    clip = scenes_clip(tmp_path / "poses.mp4", pictures)
    settings = load_settings({"ANALYSERS": "pose"}, ai_provider="offline", data_dir=str(tmp_path / "data"))
    out = video_pipeline.analyse_file(str(clip), str(tmp_path / "work"), settings)
    report = video_pipeline.describe_and_report(out, settings, user_id=None)

    found = [s["pose"] for s in report["shots"]]
    assert len(found) == 4 and found[3] is None
    assert [(p["posture"], p["arms_raised"], p["person"]) for p in found[:3]] == [
        ("standing", 0, True),
        ("standing", 2, True),
        ("sitting", 0, True),
    ]
    assert found[0]["body"] == "full"
    assert all(p["pedestrians"] == 0 for p in found[:3])  # HOG does not take the drawings for people
    assert report["pose"]["with_person"] == 3 and report["pose"]["skipped_shots"] == []
    assert {r["name"]: r["state"] for r in report["analysers"]} == {"pose": "ran"}


def _points(**where):
    points = [(0.0, 0.0, 0.0)] * 33
    for index, (x, y) in where.items():
        points[int(index[1:])] = (x, y, 0.9)
    return points


def test_the_posture_rules():
    body = {"i11": (90, 100), "i12": (110, 100), "i23": (92, 200), "i24": (108, 200)}
    standing = _points(**body, i25=(92, 280), i26=(108, 280), i27=(92, 360), i28=(108, 360))
    assert pose.describe(standing) == {"posture": "standing", "arms_raised": 0, "body": "full"}
    sitting = _points(**body, i25=(170, 210), i26=(186, 210))
    assert pose.describe(sitting) == {"posture": "sitting", "arms_raised": 0, "body": "upper"}
    lying = _points(i11=(100, 100), i12=(100, 120), i23=(200, 105), i24=(200, 125))
    assert pose.describe(lying)["posture"] == "lying"
    one_arm = _points(**body, i15=(80, 50), i16=(120, 150))
    assert pose.describe(one_arm) == {"posture": None, "arms_raised": 1, "body": "upper"}  # no knees: no posture
