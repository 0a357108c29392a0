"""Content flags (opt-in): NudeNet's detector on each keyframe, a score per shot, a report warning.

NudeNet 3.4.2 is AGPL-3.0 (its wheel's LICENSE file; the package metadata says MIT): it is never
in the base install. ``make install-nsfw`` (requirements-nsfw.txt) adds it, and ``ANALYSERS``
must name ``nsfw``. It runs its bundled ONNX model (320n.onnx) on this machine: no picture or
score is sent anywhere.

Per shot ``nsfw``: the highest score among the exposed-body classes (0 when none; None when the
shot was skipped), and ``nsfw_labels`` (those classes at or above ``THRESHOLD``). A shot at or
above ``THRESHOLD`` makes the report warning ``CONTENT_FLAGGED`` with the shots' numbers.
"""

from __future__ import annotations

import os
import threading

from backend_app.adapters.ai.base import AnalyserInfo, KeyframeAnalyser, per_process

INFO = AnalyserInfo(
    name="nsfw",
    input="keyframes",
    summary="a per-shot score for exposed bodies (NudeNet) and a CONTENT_FLAGGED warning above a threshold",
    cost="~80 ms per keyframe (issue 23's measurement; not run here: nudenet is not installed in this venv)",
    licence="AGPL-3.0 (NudeNet 3.4.2, wheel LICENSE; its metadata says MIT)",
    requirements="requirements-nsfw.txt",
    packages=("nudenet",),
    size_mb=12,
    default=False,
)

THRESHOLD = 0.6
# NudeNet's classes that flag a shot; covered parts, faces, feet, belly and armpits do not
FLAGGED = frozenset(
    {
        "FEMALE_BREAST_EXPOSED",
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "BUTTOCKS_EXPOSED",
        "ANUS_EXPOSED",
    }
)
_lock = threading.Lock()


def warm() -> None:
    """Import NudeNet; its ONNX Runtime session is made in each work horse (its thread pool does
    not survive the worker's fork)."""
    import nudenet  # noqa: F401


def _detector():
    from nudenet import NudeDetector

    return per_process("nudenet", NudeDetector)


def score(detections: list[dict]) -> tuple[float, list[str]]:
    """(the highest score of a flagged class, the flagged classes at or above THRESHOLD)."""
    flagged = [d for d in detections if d.get("class") in FLAGGED]
    top = max((float(d.get("score", 0.0)) for d in flagged), default=0.0)
    labels = sorted({d["class"] for d in flagged if float(d.get("score", 0.0)) >= THRESHOLD})
    return round(top, 3), labels


def warning(scores: dict[int, float]) -> dict | None:
    """The report warning for the shots at or above THRESHOLD (shot numbers counted from 1), or None."""
    flagged = sorted(index for index, value in scores.items() if value is not None and value >= THRESHOLD)
    if not flagged:
        return None
    numbers = ", ".join(str(index + 1) for index in flagged)
    return {
        "code": "CONTENT_FLAGGED",
        "message": f"Possibly explicit content in shot{'s' if len(flagged) > 1 else ''} {numbers} (NudeNet, local).",
        "shots": flagged,
    }


class Run(KeyframeAnalyser):
    info = INFO

    def __init__(self, ctx):
        super().__init__(ctx)
        self.scores: dict[int, float] = {}
        self.labels: dict[int, list[str]] = {}

    def inspect(self, shot, picture):
        import cv2

        path = os.path.join(self.ctx.workdir, f"nsfw_{shot}.jpg")  # NudeNet reads a file by its path
        cv2.imwrite(path, picture)
        try:
            with _lock:
                found = _detector().detect(path)
        finally:
            os.unlink(path)
        self.scores[shot], self.labels[shot] = score(found)

    def finish(self, shots):
        for shot in shots:
            shot["nsfw"] = self.scores.get(shot["index"])
            shot["nsfw_labels"] = self.labels.get(shot["index"], [])
        flag = warning(self.scores)
        return {
            "warnings": [flag] if flag else [],
            "nsfw": {
                "threshold": THRESHOLD,
                "keyframes": len(self.scores),
                "flagged_shots": flag["shots"] if flag else [],
                **self.pacing(),
            },
        }
