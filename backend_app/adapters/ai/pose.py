"""Body pose per shot (opt-in): MediaPipe Pose on each keyframe, and OpenCV's HOG people count.

MediaPipe Pose follows one person (the most prominent); it misses small and distant people, so
OpenCV's HOG pedestrian detector counts upright people besides (``pedestrians``: an estimate; it
finds walking and standing people of at least ~100 px, not sitting or partial ones, and nothing in
drawn pictures — the tests check it stays at 0 on empty shots, not that it finds anyone).

Per shot ``pose``: None when nobody was found, else ``{posture, arms_raised, body, pedestrians}``,
only what the landmarks support: ``posture`` is "standing" (thighs and shins near vertical),
"sitting" (thighs near horizontal, knees bent), "lying" (torso near horizontal) or None when the
hips and knees are not visible or the angles say neither; ``arms_raised`` counts wrists above
their shoulder; ``body`` is "full" (ankles visible) or "upper".
"""

from __future__ import annotations

import math
import threading

from backend_app.adapters.ai import mediapipe_solutions
from backend_app.adapters.ai.base import AnalyserInfo, KeyframeAnalyser, per_process

INFO = AnalyserInfo(
    name="pose",
    input="keyframes",
    summary="one person's posture and raised arms per shot (MediaPipe Pose), plus a HOG count of upright people",
    # measured on this 2-core machine (960x540 keyframes, load ~8)
    cost="~40-80 ms per keyframe for the pose, ~60-90 ms for the HOG count at 480 px",
    licence="Apache-2.0 (MediaPipe) / BSD (OpenCV)",
    requirements="requirements-ai.txt",
    packages=("mediapipe",),
    size_mb=66,
    default=False,
)

VISIBLE = 0.5
HOG_WIDTH = 480
# landmark indexes of MediaPipe Pose
L_SHOULDER, R_SHOULDER, L_WRIST, R_WRIST = 11, 12, 15, 16
L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = 23, 24, 25, 26, 27, 28

_lock = threading.Lock()


def warm() -> None:
    """Import MediaPipe Pose (its graph is made in each process: MediaPipe does not survive a fork)."""
    mediapipe_solutions.solution("pose")


def _pose():
    module = mediapipe_solutions.solution("pose")
    # model_complexity=1 is the model the wheel ships (0 and 2 would be downloaded)
    return per_process("pose", lambda: module.Pose(static_image_mode=True, model_complexity=1))


def _hog():
    import cv2

    def make():
        hog = cv2.HOGDescriptor()
        hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        return hog

    return per_process("hog", make)


def landmarks(picture) -> list[tuple[float, float, float]] | None:
    """(x px, y px, visibility) of the 33 landmarks of the most prominent person, or None."""
    import cv2

    height, width = picture.shape[:2]
    with _lock:
        found = _pose().process(cv2.cvtColor(picture, cv2.COLOR_BGR2RGB)).pose_landmarks
    if found is None:
        return None
    return [(p.x * width, p.y * height, p.visibility) for p in found.landmark]


def pedestrians(picture) -> int:
    """Upright people OpenCV's HOG detector finds (on the picture at most 480 px wide)."""
    import cv2

    scale = min(1.0, HOG_WIDTH / picture.shape[1])
    small = cv2.resize(picture, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else picture
    rects, _weights = _hog().detectMultiScale(small, winStride=(8, 8), padding=(8, 8), scale=1.05)
    return len(rects)


def _mid(points, a: int, b: int) -> tuple[float, float]:
    return (points[a][0] + points[b][0]) / 2, (points[a][1] + points[b][1]) / 2


def _from_vertical(top: tuple[float, float], bottom: tuple[float, float]) -> float:
    """Degrees between the segment top→bottom and straight down (0: vertical, 90: horizontal)."""
    dx, dy = bottom[0] - top[0], bottom[1] - top[1]
    return math.degrees(math.atan2(abs(dx), dy)) if (dx or dy) else 0.0


def describe(points: list[tuple[float, float, float]]) -> dict:
    """What the landmarks support: posture, raised arms, how much of the body is in the picture."""

    def seen(*indexes: int) -> bool:
        return all(points[i][2] >= VISIBLE for i in indexes)

    raised = sum(
        1
        for wrist, shoulder in ((L_WRIST, L_SHOULDER), (R_WRIST, R_SHOULDER))
        if seen(wrist, shoulder) and points[wrist][1] < points[shoulder][1]
    )
    posture = None
    if seen(L_SHOULDER, R_SHOULDER, L_HIP, R_HIP):
        torso = _from_vertical(_mid(points, L_SHOULDER, R_SHOULDER), _mid(points, L_HIP, R_HIP))
        if torso > 60:
            posture = "lying"
        elif seen(L_HIP, R_HIP, L_KNEE, R_KNEE):
            thighs = _from_vertical(_mid(points, L_HIP, R_HIP), _mid(points, L_KNEE, R_KNEE))
            shins = (
                _from_vertical(_mid(points, L_KNEE, R_KNEE), _mid(points, L_ANKLE, R_ANKLE))
                if seen(L_ANKLE, R_ANKLE)
                else None
            )
            if thighs > 50:
                posture = "sitting"
            elif thighs < 25 and (shins is None or shins < 25):
                posture = "standing"
    return {
        "posture": posture,
        "arms_raised": raised,
        "body": "full" if seen(L_ANKLE, R_ANKLE) else "upper",
    }


class Run(KeyframeAnalyser):
    info = INFO

    def __init__(self, ctx):
        super().__init__(ctx)
        self.found: dict[int, dict | None] = {}

    def inspect(self, shot, picture):
        points = landmarks(picture)
        count = pedestrians(picture)
        pose = describe(points) if points is not None else None
        if pose is not None or count:
            pose = {**(pose or {"posture": None, "arms_raised": 0, "body": None}), "pedestrians": count}
            pose["person"] = points is not None
        self.found[shot] = pose

    def finish(self, shots):
        for shot in shots:
            shot["pose"] = self.found.get(shot["index"])
        return {
            "pose": {
                "keyframes": len(self.found),
                "with_person": sum(1 for p in self.found.values() if p and p["person"]),
                **self.pacing(),
            }
        }
