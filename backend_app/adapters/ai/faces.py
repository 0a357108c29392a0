"""People across shots: faces found on keyframes, told apart by their embeddings, grouped per video.

Faces are found by MediaPipe's full-range face detector (finds small, turned and drawn faces that
OpenCV's Haar cascade misses; its boxes replace the Haar ones in the shots). Each face large enough
to be recognised gets the 128-d embedding of face_recognition's models (dlib's ResNet with the
5-point aligner, called directly: ``import face_recognition`` loads four models at import). Faces
are grouped greedily in order of appearance: a face joins the nearest group whose mean embedding is
closer than ``DISTANCE``, else starts a new one.

``DISTANCE`` = 0.5. Measured on real faces: the same person 0.42–0.57 apart, different people
0.56–0.78; on the tests' drawn faces, the same face across shots (moved, scaled 0.8–1.3) 0.09–0.28,
two different drawn faces 0.49–0.61. Comparing with a group's mean (not its nearest member) keeps
the same-person distances lower than those pairwise figures.

The report part: ``people [{id, label, shots}]`` (labels "Person A", "Person B"… in order of first
appearance), per shot ``people`` (ids) and ``people_count`` (faces seen, recognisable or not), and
``faces {…}`` (what was looked at and skipped). The private part ``_people`` (each person's
embedding as float32 bytes and the path of a face crop) is for the caller to store; it never goes
into the report.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

from backend_app.adapters.ai import mediapipe_solutions
from backend_app.adapters.ai.base import AnalyserInfo, KeyframeAnalyser, per_process

INFO = AnalyserInfo(
    name="faces",
    input="keyframes",
    summary="faces (MediaPipe) grouped into people across shots by their embeddings (face_recognition)",
    # measured on this 2-core machine (960x540 keyframes, load 2-8): models 0.9 s to load once per worker
    cost="~6-16 ms per keyframe to find faces, 80-200 ms per face to tell who it is; ~0.2 s per job for MediaPipe's graph",
    licence="Apache-2.0 (MediaPipe) / MIT (face_recognition) / CC0 (models) / Boost (dlib)",
    requirements="requirements-ai.txt",
    packages=("mediapipe", "dlib", "face_recognition_models"),
    size_mb=205,
    default=True,
)

DISTANCE = 0.5  # see the module docstring
MIN_SCORE = 0.5  # MediaPipe's detection confidence
MIN_FACE_PX = 28  # smaller faces are counted but not recognised (their embedding is noise)
MAX_FACES_PER_KEYFRAME = 12
OVERLAP = 0.3  # the full-range model can return one face twice: the weaker of two boxes this much overlapped goes
CROP_PX = 160

_models: dict[str, Any] = {}
_warm_lock = threading.Lock()
_detect_lock = threading.Lock()


def warm() -> None:
    """Load dlib's aligner and face model (shared by the work horses after the fork) and import
    MediaPipe's face detection; its graph is made in each process on first use (see
    mediapipe_solutions: MediaPipe does not survive a fork)."""
    with _warm_lock:
        if _models:
            return
        import dlib
        import face_recognition_models as frm

        mediapipe_solutions.solution("face_detection")
        _models["aligner"] = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
        _models["encoder"] = dlib.face_recognition_model_v1(frm.face_recognition_model_location())
        _models["pid"] = os.getpid()  # a work horse that finds another pid here shares its parent's models


def _detector():
    module = mediapipe_solutions.solution("face_detection")
    return per_process(
        "face_detection", lambda: module.FaceDetection(model_selection=1, min_detection_confidence=MIN_SCORE)
    )


@dataclass
class Box:
    x: int
    y: int
    w: int
    h: int
    score: float

    def overlap(self, other: Box) -> float:
        ix = max(0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.w * self.h + other.w * other.h - inter
        return inter / union if union else 0.0


def detect(picture) -> list[Box]:
    """Faces in a BGR picture, strongest first, in pixels (clamped to the picture)."""
    import cv2

    height, width = picture.shape[:2]
    rgb = cv2.cvtColor(picture, cv2.COLOR_BGR2RGB)
    with _detect_lock:
        found = _detector().process(rgb).detections or []
    boxes = []
    for detection in found:
        rel = detection.location_data.relative_bounding_box
        x0, y0 = max(0, int(rel.xmin * width)), max(0, int(rel.ymin * height))
        x1, y1 = min(width, int((rel.xmin + rel.width) * width)), min(height, int((rel.ymin + rel.height) * height))
        if x1 - x0 >= 4 and y1 - y0 >= 4:
            boxes.append(Box(x0, y0, x1 - x0, y1 - y0, float(detection.score[0])))
    kept: list[Box] = []
    for box in sorted(boxes, key=lambda b: -b.score):
        if all(box.overlap(other) < OVERLAP for other in kept):
            kept.append(box)
    return kept[:MAX_FACES_PER_KEYFRAME]


def embed(picture, box: Box) -> bytes:
    """The face's 128-d embedding (float32 bytes), as face_recognition.face_encodings computes it."""
    import cv2
    import dlib
    import numpy as np

    warm()
    rgb = cv2.cvtColor(picture, cv2.COLOR_BGR2RGB)
    shape = _models["aligner"](rgb, dlib.rectangle(box.x, box.y, box.x + box.w, box.y + box.h))
    vector = np.asarray(_models["encoder"].compute_face_descriptor(rgb, shape, 1), dtype=np.float32)
    return vector.tobytes()


def distance(a: bytes, b: bytes) -> float:
    """Euclidean distance between two embeddings (face_recognition's face_distance)."""
    import numpy as np

    return float(np.linalg.norm(np.frombuffer(a, np.float32) - np.frombuffer(b, np.float32)))


def nearest(embedding: bytes, candidates: list[tuple[Any, bytes]], limit: float = DISTANCE) -> Any | None:
    """The key of the candidate ``(key, embedding)`` nearest to ``embedding`` when under ``limit``."""
    best, best_d = None, limit
    for key, other in candidates:
        d = distance(embedding, other)
        if d < best_d:
            best, best_d = key, d
    return best


def label(number: int) -> str:
    """ "Person A" … "Person Z", "Person AA" … for the 0-based ``number``."""
    letters = ""
    number += 1
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return f"Person {letters}"


@dataclass
class Face:
    shot: int
    box: Box
    embedding: bytes
    crop: Any  # BGR, with a margin around the box


def _crop(picture, box: Box):
    import cv2

    height, width = picture.shape[:2]
    margin = int(max(box.w, box.h) * 0.35)
    x0, y0 = max(0, box.x - margin), max(0, box.y - margin)
    x1, y1 = min(width, box.x + box.w + margin), min(height, box.y + box.h + margin)
    crop = picture[y0:y1, x0:x1]
    scale = CROP_PX / max(crop.shape[:2])
    if scale < 1:
        crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))))
    return crop.copy()


def group(faces: list[Face], limit: float = DISTANCE) -> list[list[Face]]:
    """Faces grouped into people, in order of first appearance (greedy, against each group's mean)."""
    import numpy as np

    groups: list[list[Face]] = []
    means: list[Any] = []
    for face in faces:
        vector = np.frombuffer(face.embedding, np.float32)
        gaps = [float(np.linalg.norm(vector - mean)) for mean in means]
        best = min(range(len(gaps)), key=gaps.__getitem__) if gaps else None
        if best is not None and gaps[best] < limit:
            groups[best].append(face)
            members = np.stack([np.frombuffer(f.embedding, np.float32) for f in groups[best]])
            means[best] = members.mean(axis=0)
        else:
            groups.append([face])
            means.append(vector)
    return groups


def _relative(box: Box, width: int, height: int) -> dict:
    return {
        "x": round(box.x / width, 3),
        "y": round(box.y / height, 3),
        "w": round(box.w / width, 3),
        "h": round(box.h / height, 3),
        "score": round(box.score, 2),
    }


def _mean(faces: list[Face]) -> bytes:
    import numpy as np

    return np.stack([np.frombuffer(f.embedding, np.float32) for f in faces]).mean(axis=0).astype(np.float32).tobytes()


class Run(KeyframeAnalyser):
    """One video: faces found and embedded as keyframes come, grouped into people at the end."""

    info = INFO

    def __init__(self, ctx):
        super().__init__(ctx)
        self.faces: list[Face] = []
        self.seen: dict[int, list[Box]] = {}  # shot -> every face found on its keyframe
        self.sizes: dict[int, tuple[int, int]] = {}  # shot -> its keyframe's (width, height)

    def inspect(self, shot, picture):
        boxes = detect(picture)
        self.seen[shot] = boxes
        self.sizes[shot] = (picture.shape[1], picture.shape[0])
        for box in boxes:
            if min(box.w, box.h) >= MIN_FACE_PX:
                self.faces.append(Face(shot, box, embed(picture, box), _crop(picture, box)))

    def finish(self, shots):
        import cv2

        loaded = "before this process" if _models.get("pid") not in (None, os.getpid()) else "in this process"
        people = group(sorted(self.faces, key=lambda f: (f.shot, f.box.x)))
        ids = {}
        listed, private = [], {}
        for number, members in enumerate(people):
            person_id = f"p{number + 1}"
            for face in members:
                ids[id(face)] = person_id
            best = max(members, key=lambda f: f.box.w * f.box.h * f.box.score)
            crop_path = os.path.join(self.ctx.workdir, f"person_{person_id}.jpg")
            cv2.imwrite(crop_path, best.crop, [cv2.IMWRITE_JPEG_QUALITY, 88])
            listed.append(
                {
                    "id": person_id,
                    "label": label(number),
                    "shots": sorted({f.shot for f in members}),
                    "faces": len(members),
                }
            )
            private[person_id] = {"embedding": _mean(members), "crop": crop_path}
        for shot in shots:
            index = shot["index"]
            if index in self.skipped or index not in self.seen:
                shot["people"], shot["people_count"] = [], None
                continue
            found = [ids[id(f)] for f in sorted(self.faces, key=lambda f: f.box.x) if f.shot == index]
            shot["people"] = list(dict.fromkeys(found))
            shot["people_count"] = len(self.seen[index])
            shot["faces"] = len(self.seen[index])  # MediaPipe's count replaces the Haar cascade's
            shot["face_boxes"] = [_relative(box, *self.sizes[index]) for box in self.seen[index]]
        return {
            "people": listed,
            "faces": {
                "detector": "mediapipe-full-range",
                "distance": DISTANCE,
                "keyframes": len(self.seen),
                "faces": sum(len(b) for b in self.seen.values()),
                "recognised": len(self.faces),
                **self.pacing(),
                "models_loaded": loaded,  # "before this process": a worker's horse using the models loaded before its fork
            },
            "_people": private,
        }

    def close(self):
        self.faces.clear()
        self.seen.clear()
