"""On-screen text: RapidOCR (PP-OCR models in ONNX, shipped inside the rapidocr wheel) on pictures.

``read_text(picture)`` is the plain function anyone may call (the video analyser here, scanned
document pages): lines of text with their boxes in pixels and the recogniser's score. The engine
loads once per process (``warm``) from the wheel's own model files, named by path so that
rapidocr never resolves a model URL (it downloads whatever it cannot find under its model
directory); onnxruntime runs with one thread per session, so a forked worker horse inherits no
thread pool. The multilingual PP-OCRv6 recogniser reads English and German (ä ö ü ß).

``Run`` is the video analyser (``ANALYSERS=text``): the text seen in each shot's keyframe.
"""

from __future__ import annotations

import os
import threading
import unicodedata
from dataclasses import dataclass

from backend_app.adapters.ai.base import Analyser, AnalyserInfo

INFO = AnalyserInfo(
    name="text",
    input="frames",
    summary="on-screen text (slides, signs, subtitles) with its times and boxes, English and German",
    cost="~0.45 s of one core per 960x540 frame with text; frames are sampled within the budget",
    licence="rapidocr Apache-2.0 / PP-OCR models Apache-2.0",
    requirements="requirements-ai.txt",
    packages=("rapidocr", "onnxruntime"),
    size_mb=70,  # rapidocr with its models ~32 MB, onnxruntime ~40 MB (beyond the base install)
    default=True,
)

# The wheel's own files (rapidocr 3.10: PP-OCRv6 small detector and multilingual recogniser,
# the PP-OCR mobile orientation classifier). A file missing here is an install problem, reported
# as such, never a download.
MODEL_FILES = {
    "Det": "PP-OCRv6_det_small.onnx",
    "Rec": "PP-OCRv6_rec_small.onnx",
    "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}
MIN_SCORE = 0.5  # the recogniser's confidence below which a line is dropped

_engine = None
_load_lock = threading.Lock()
_call_lock = threading.Lock()  # one picture at a time per process: the engine keeps per-call state


class OcrUnavailable(RuntimeError):
    """rapidocr or its model files are missing (the analyser is not installed properly)."""


@dataclass(frozen=True)
class OcrLine:
    text: str
    box: tuple[int, int, int, int]  # x, y, width, height in the picture's pixels
    score: float


def model_paths() -> dict[str, str]:
    """The model file for each stage (Det, Rec, Cls) inside the installed rapidocr package."""
    import importlib.util

    spec = importlib.util.find_spec("rapidocr")
    if spec is None or spec.origin is None:
        raise OcrUnavailable("rapidocr is not installed (pip install -r requirements-ai.txt)")
    folder = os.path.join(os.path.dirname(spec.origin), "models")
    paths = {stage: os.path.join(folder, name) for stage, name in MODEL_FILES.items()}
    missing = [p for p in paths.values() if not os.path.isfile(p)]
    if missing:
        raise OcrUnavailable(f"rapidocr's model files are missing: {', '.join(missing)}")
    return paths


def _params() -> dict:
    params = {f"{stage}.model_path": path for stage, path in model_paths().items()}
    params.update(
        {
            "Global.log_level": "warning",
            "Global.use_cls": False,  # video text and scans are upright; the classifier costs a pass per line
            "Global.text_score": MIN_SCORE,
            "EngineConfig.onnxruntime.intra_op_num_threads": 1,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
    )
    return params


def warm():
    """Load the engine and its models in this process, once (idempotent); returns the engine."""
    global _engine
    if _engine is not None:
        return _engine
    with _load_lock:
        if _engine is None:
            try:
                from rapidocr import RapidOCR
            except ImportError as exc:
                raise OcrUnavailable(f"rapidocr is not installed: {exc}") from exc
            engine = RapidOCR(params=_params())
            # rapidocr loads each stage on its first picture: read one now, before a worker forks
            engine(_warm_up_picture())
            _engine = engine
    return _engine


def _warm_up_picture():
    """A line of text drawn with OpenCV's built-in font (no font file), so both stages load."""
    import cv2
    import numpy as np

    picture = np.full((96, 480, 3), 255, np.uint8)
    cv2.putText(picture, "Framewise 2024", (16, 64), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (0, 0, 0), 3, cv2.LINE_AA)
    return picture


def loaded() -> bool:
    """Whether this process has the engine (for tests of warm-before-fork)."""
    return _engine is not None


def read_text(picture_bgr, min_score: float = MIN_SCORE) -> list[OcrLine]:
    """The lines of text in a BGR picture (uint8, H x W x 3, or H x W grey), top to bottom."""
    import numpy as np

    picture = _as_bgr(picture_bgr, np)
    engine = warm()
    with _call_lock:
        result = engine(picture)
    texts, scores, boxes = result.txts or (), result.scores or (), result.boxes
    lines: list[OcrLine] = []
    for i, (text, score) in enumerate(zip(texts, scores, strict=False)):
        clean = unicodedata.normalize("NFC", str(text)).strip()
        if not clean or float(score) < min_score:
            continue
        lines.append(OcrLine(clean, _box(boxes[i], np), round(float(score), 4)))
    return lines


def _as_bgr(picture, np):
    if not isinstance(picture, np.ndarray) or picture.size == 0:
        raise ValueError("read_text needs a non-empty picture as a numpy array")
    if picture.dtype != np.uint8:
        raise ValueError(f"read_text needs 8-bit pixels, not {picture.dtype}")
    if picture.ndim == 2:
        return np.ascontiguousarray(np.repeat(picture[:, :, None], 3, axis=2))
    if picture.ndim != 3 or picture.shape[2] not in (3, 4):
        raise ValueError(f"read_text needs an H x W x 3 BGR picture, not shape {picture.shape}")
    return np.ascontiguousarray(picture[:, :, :3])


def _box(points, np) -> tuple[int, int, int, int]:
    """The axis-aligned box around a detected quadrilateral."""
    quad = np.asarray(points, dtype=float).reshape(-1, 2)
    x0, y0 = np.floor(quad.min(axis=0))
    x1, y1 = np.ceil(quad.max(axis=0))
    x0, y0 = max(0, int(x0)), max(0, int(y0))
    return x0, y0, int(x1) - x0, int(y1) - y0


class Run(Analyser):
    """One video: the text in each shot's keyframe, the same text in neighbouring shots merged."""

    def __init__(self, ctx):
        super().__init__(ctx)
        self.seen: list[tuple[int, float, float, OcrLine]] = []

    def keyframe(self, shot, start_s, end_s, picture) -> None:
        self.seen.extend((shot, start_s, end_s, line) for line in read_text(picture) if len(line.text) > 1)

    def finish(self, shots: list[dict]) -> dict:
        texts: list[dict] = []
        for _shot, start_s, end_s, line in sorted(self.seen, key=lambda s: (s[1], s[3].box[1])):
            same = next((t for t in texts if t["text"] == line.text and t["end_s"] >= start_s - 0.5), None)
            if same is not None:
                same["end_s"] = max(same["end_s"], round(end_s, 3))
                continue
            texts.append(
                {"start_s": round(start_s, 3), "end_s": round(end_s, 3), "text": line.text, "box": list(line.box)}
            )
        for row in shots:
            row["texts"] = sorted({line.text for shot, _s, _e, line in self.seen if shot == row["index"]})
        return {"texts": texts}
