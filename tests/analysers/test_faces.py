"""The faces analyser (adapters/ai/faces.py) on drawn faces: two people across shots, the face
crops and embeddings kept out of the report, the per-video budget, and MediaPipe loading without
the packages its ``__init__`` would pull in."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from backend_app.adapters.ai import faces
from backend_app.services.video import analysers
from backend_app.services.video import pipeline as video_pipeline
from backend_app.settings import load_settings
from tests.analysers.faces_media import draw_person, people_clip
from tests.helpers import ROOT

pytestmark = [
    pytest.mark.skipif(bool(faces.INFO.missing()), reason=f"faces analyser not installed: {faces.INFO.missing()}"),
    pytest.mark.timeout(300),
]

# A in shots 1 and 3 (moved and smaller the second time), B in shot 2, nobody in shot 4
SHOTS = [{"who": "A"}, {"who": "B"}, {"who": "A", "dx": -120, "scale": 0.8}, {"who": None}]


def _settings(tmp_path, **env):
    return load_settings({"ANALYSERS": "faces", **env}, ai_provider="offline", data_dir=str(tmp_path / "data"))


def _analyse(tmp_path, shots=SHOTS, **env):
    clip = people_clip(tmp_path / "people.mp4", shots)
    settings = _settings(tmp_path, **env)
    out = video_pipeline.analyse_file(str(clip), str(tmp_path / "work"), settings)
    return out, video_pipeline.describe_and_report(out, settings, user_id=None)


def test_mediapipe_loads_without_matplotlib_or_jax_and_finds_a_drawn_face(tmp_path):
    script = (
        "import sys, cv2\n"
        "from backend_app.adapters.ai import faces\n"
        "from tests.analysers.faces_media import draw_person\n"
        "faces.warm()\n"
        "found = faces.detect(draw_person('A'))\n"
        "print(len(found), sorted(m for m in ('matplotlib', 'jax', 'tensorflow') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == "1 []"


def test_two_drawn_people_across_shots_become_two_people_with_their_shots(tmp_path):
    out, report = _analyse(tmp_path)

    assert [s["index"] for s in report["shots"]] == [0, 1, 2, 3]
    assert report["people"] == [
        {"id": "p1", "label": "Person A", "shots": [0, 2], "faces": 2},
        {"id": "p2", "label": "Person B", "shots": [1], "faces": 1},
    ]
    assert [s["people"] for s in report["shots"]] == [["p1"], ["p2"], ["p1"], []]
    assert [s["people_count"] for s in report["shots"]] == [1, 1, 1, 0]
    # MediaPipe's boxes replace the Haar cascade's: shot 3's face is left of centre
    assert [s["faces"] for s in report["shots"]] == [1, 1, 1, 0]
    assert report["shots"][2]["face_boxes"][0]["x"] < 0.4 < report["shots"][0]["face_boxes"][0]["x"]
    state = {r["name"]: r for r in report["analysers"]}["faces"]
    assert state["state"] == "ran" and "analyser_faces" in report["timings"]
    assert report["faces"]["skipped_shots"] == [] and report["faces"]["keyframes"] == 4

    # the private part: one embedding and one face crop per person, none of it in the report
    private = out.found["_people"]
    assert set(private) == {"p1", "p2"}
    for kept in private.values():
        assert len(kept["embedding"]) == 128 * 4
        with open(kept["crop"], "rb") as crop:
            assert crop.read(2) == b"\xff\xd8"
    text = json.dumps(report)
    assert "_people" not in text and "embedding" not in text
    # the margin the grouping relied on: the two people are further apart than the threshold
    assert faces.distance(private["p1"]["embedding"], private["p2"]["embedding"]) > faces.DISTANCE


def test_the_same_drawn_face_stays_under_the_threshold_and_the_other_above_it():
    a = faces.detect(draw_person("A"))[0]
    a_moved = faces.detect(draw_person("A", dx=-100, scale=1.3))[0]
    b = faces.detect(draw_person("B", dx=80))[0]
    same = faces.distance(faces.embed(draw_person("A"), a), faces.embed(draw_person("A", dx=-100, scale=1.3), a_moved))
    other = faces.distance(faces.embed(draw_person("A"), a), faces.embed(draw_person("B", dx=80), b))
    assert same < faces.DISTANCE < other


def test_a_spent_budget_skips_the_remaining_keyframes_and_says_so(tmp_path):
    _out, report = _analyse(tmp_path, ANALYSER_BUDGET_S_PER_MIN="0.001")
    skipped = report["faces"]["skipped_shots"]
    assert skipped == [1, 2, 3]  # the first keyframe spends the budget
    assert [s["people_count"] for s in report["shots"]][1:] == [None, None, None]
    assert report["people"] == [{"id": "p1", "label": "Person A", "shots": [0], "faces": 1}]


def test_labels_count_past_z_and_nearest_keeps_to_its_limit():
    assert [faces.label(n) for n in (0, 1, 25, 26, 27)] == [
        "Person A",
        "Person B",
        "Person Z",
        "Person AA",
        "Person AB",
    ]
    import numpy as np

    zero = np.zeros(128, np.float32)
    near, far = zero.copy(), zero.copy()
    near[0], far[0] = 0.3, 0.7
    candidates = [("far", far.tobytes()), ("near", near.tobytes())]
    assert faces.nearest(zero.tobytes(), candidates) == "near"
    assert faces.nearest(zero.tobytes(), [("far", far.tobytes())]) is None


def test_not_installed_is_reported_not_raised(tmp_path, monkeypatch):
    monkeypatch.setattr(faces, "INFO", faces.INFO.__class__(**{**faces.INFO.__dict__, "packages": ("no_such_dlib",)}))
    row = analysers.status("faces", _settings(tmp_path))
    assert row["state"] == "not_installed" and "no_such_dlib" in row["reason"]


def test_a_process_forked_after_warm_uses_the_parents_models_and_mediapipe_works_there(tmp_path):
    """The worker warms before its horses fork: in the child the dlib models are the parent's
    (not loaded again) and MediaPipe, whose graph is made in the child, still answers."""
    script = (
        "import os, sys\n"
        "from backend_app.adapters.ai import faces\n"
        "from tests.analysers.faces_media import draw_person\n"
        "faces.warm()\n"
        "parent = id(faces._models['encoder'])\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    import signal; signal.alarm(60)\n"
        "    faces.warm()\n"
        "    box = faces.detect(draw_person('B'))[0]\n"
        "    ok = id(faces._models['encoder']) == parent and faces._models['pid'] != os.getpid()\n"
        "    print('child', ok, len(faces.embed(draw_person('B'), box)), flush=True)\n"
        "    os._exit(0)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "print('status', status)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "child True 512" in done.stdout and "status 0" in done.stdout, (done.stdout, done.stderr[-1500:])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_warm_is_idempotent():
    faces.warm()
    encoder = faces._models["encoder"]
    faces.warm()
    assert faces._models["encoder"] is encoder


def test_the_budget_is_spread_over_the_video():
    from backend_app.adapters.ai.base import Context, on_pace

    ctx = Context(path="", workdir="", duration_s=60, fps=25, width=1, height=1, budget_s=10)
    assert on_pace(ctx, 0, 1)  # the first look is free
    assert not on_pace(ctx, 2, 6)  # 2 s spent by 0:06: ahead of the pace (1 s)
    assert on_pace(ctx, 2, 30)  # by 0:30 half the budget is there
    assert on_pace(ctx, 9.9, 60) and not on_pace(ctx, 10, 60)
