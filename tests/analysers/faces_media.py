"""Two drawn "people" for the faces analyser's tests, and videos with them in known shots.

No face photograph ships with any installed package (face_recognition_models, mediapipe, dlib,
OpenCV's headless wheel and the rest were searched), so the faces are drawn: MediaPipe finds them
and dlib's embedding tells them apart. Measured: the same drawn face moved and scaled 0.8–1.3 is
0.09–0.28 apart, the two faces 0.49–0.61 (tests check the margin they rely on, not these figures).
Person A: light skin, long hair, small mouth. Person B: darker, wider face, beard, glasses.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from tests.video_scenes import encode

SIZE = (640, 360)
_LOOKS = {
    "A": {"skin": (150, 175, 215), "hair": (30, 35, 45), "fw": 52, "fh": 66, "eye": 20, "eyey": -8, "nose": 16},
    "B": {"skin": (60, 80, 110), "hair": (40, 90, 160), "fw": 66, "fh": 60, "eye": 27, "eyey": -14, "nose": 14},
}


def draw_person(who: str, *, dx: int = 0, scale: float = 1.0, background=(90, 110, 80), size=SIZE) -> np.ndarray:
    """A frontal face of person ``who`` ("A" or "B"), ``dx`` px right of centre, on a plain background."""
    look = _LOOKS[who]
    width, height = size
    img = np.full((height, width, 3), background, np.uint8)
    cx, cy, s = width // 2 + dx, height // 2, scale

    def p(value: float) -> int:
        return int(value * s)

    if who == "A":  # long hair behind the face
        cv2.rectangle(img, (cx - p(62), cy - p(50)), (cx + p(62), cy + p(80)), (20, 60, 120), -1)
    cv2.ellipse(img, (cx, cy), (p(look["fw"]), p(look["fh"])), 0, 0, 360, look["skin"], -1)
    cv2.ellipse(img, (cx, cy - p(40)), (p(look["fw"] + 4), p(34)), 0, 180, 360, look["hair"], -1)
    for ex in (-look["eye"], look["eye"]):
        cv2.ellipse(img, (cx + p(ex), cy + p(look["eyey"] - 10)), (p(13), p(4)), 0, 180, 360, (40, 45, 60), 3)
        cv2.ellipse(img, (cx + p(ex), cy + p(look["eyey"])), (p(11), p(6)), 0, 0, 360, (245, 245, 245), -1)
        cv2.circle(img, (cx + p(ex), cy + p(look["eyey"])), p(5), (30, 30, 30), -1)
    nose = np.array([[cx, cy - p(6)], [cx - p(7), cy + p(look["nose"])], [cx + p(7), cy + p(look["nose"])]])
    cv2.polylines(img, [nose], True, (110, 130, 170), 2)
    if who == "A":
        cv2.ellipse(img, (cx, cy + p(32)), (p(18), p(6)), 0, 0, 180, (60, 60, 150), -1)
    else:
        cv2.ellipse(img, (cx, cy + p(24)), (p(30), p(10)), 0, 0, 180, (80, 70, 190), -1)
        cv2.ellipse(img, (cx, cy + p(40)), (p(50), p(30)), 0, 0, 180, (20, 25, 35), -1)  # beard
        for ex in (-look["eye"], look["eye"]):
            cv2.circle(img, (cx + p(ex), cy + p(look["eyey"])), p(15), (10, 10, 10), 3)  # glasses
        cv2.line(img, (cx - p(10), cy + p(look["eyey"])), (cx + p(10), cy + p(look["eyey"])), (10, 10, 10), 3)
    return cv2.GaussianBlur(img, (5, 5), 0)


# Backgrounds far apart, so that every change of scene is a cut
BACKGROUNDS = [(90, 110, 80), (160, 90, 60), (60, 70, 150), (140, 140, 140), (40, 120, 160)]


def people_clip(path: str | Path, shots: list[dict], *, frames_per_shot: int = 25, fps: int = 25) -> Path:
    """A video with one shot per entry of ``shots``: ``{"who": "A"|"B"|None, "dx": 0, "scale": 1.0}``
    (None: an empty background). Each shot has its own background colour and a slight drift."""

    def frames():
        for number, shot in enumerate(shots):
            background = BACKGROUNDS[number % len(BACKGROUNDS)]
            for i in range(frames_per_shot):
                if shot.get("who"):
                    yield draw_person(
                        shot["who"], dx=shot.get("dx", 0) + i // 5, scale=shot.get("scale", 1.0), background=background
                    )
                else:
                    yield np.full((SIZE[1], SIZE[0], 3), background, np.uint8)

    return encode(path, frames(), fps=fps, size=SIZE)


def draw_figure(pose: str, *, background=(200, 200, 190), size=SIZE) -> np.ndarray:
    """A drawn whole person, front view: ``pose`` is "standing", "arms_up" or "sitting" (thighs
    towards the viewer's right). MediaPipe Pose finds its landmarks; OpenCV's HOG does not."""
    width, height = size
    img = np.full((height, width, 3), background, np.uint8)
    cx = width // 2
    skin, shirt, trousers = (150, 175, 215), (60, 60, 160), (80, 50, 30)
    cv2.ellipse(img, (cx, 60), (18, 24), 0, 0, 360, skin, -1)
    for ex in (-7, 7):
        cv2.circle(img, (cx + ex, 56), 3, (30, 30, 30), -1)
    cv2.rectangle(img, (cx - 28, 88), (cx + 28, 190), shirt, -1)
    for side in (-1, 1):
        if pose == "arms_up":
            cv2.line(img, (cx + side * 26, 95), (cx + side * 50, 20), skin, 14)
        else:
            cv2.line(img, (cx + side * 30, 95), (cx + side * 40, 185), skin, 14)
        if pose == "sitting":
            cv2.line(img, (cx + side * 14, 190), (cx + side * 14 + 70, 195), trousers, 20)
            cv2.line(img, (cx + side * 14 + 70, 195), (cx + side * 14 + 70, 290), trousers, 18)
        else:
            cv2.line(img, (cx + side * 14, 190), (cx + side * 18, 330), trousers, 20)
    return cv2.GaussianBlur(img, (3, 3), 0)


def scenes_clip(path: str | Path, pictures: list[np.ndarray | None], *, frames_per_shot: int = 25) -> Path:
    """One still shot per picture (None: an empty background of its own colour)."""

    def frames():
        for number, picture in enumerate(pictures):
            if picture is None:
                picture = np.full((SIZE[1], SIZE[0], 3), BACKGROUNDS[number % len(BACKGROUNDS)], np.uint8)
            for _ in range(frames_per_shot):
                yield picture

    return encode(path, frames(), fps=25, size=SIZE)
