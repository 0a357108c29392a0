"""On-screen text: RapidOCR (PP-OCR models in ONNX, shipped inside the rapidocr wheel) on pictures.

``read_text(picture)`` is the plain function anyone may call (the video analyser here, scanned
document pages): lines of text with their boxes in pixels and the recogniser's score. The engine
loads once per process (``warm``) from the wheel's own model files, named by path so that
rapidocr never resolves a model URL (it downloads whatever it cannot find under its model
directory); onnxruntime runs with one thread per session and the warm-up keeps OpenCV on one
thread, so a forked worker horse inherits no thread pool. The multilingual PP-OCRv6 recogniser reads English and German (ä ö ü ß).

``Run`` is the video analyser (``ANALYSERS=text``): the text in each shot's keyframe and in the
still moments of the decode pass, merged over time (text_items.py) within the CPU budget.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import unicodedata
from dataclasses import dataclass

from backend_app.adapters.ai import text_items
from backend_app.adapters.ai.base import Analyser, AnalyserInfo

INFO = AnalyserInfo(
    name="text",
    input="frames",
    summary="on-screen text (slides, signs, subtitles) with its times and boxes, English and German",
    # measured here (2 shared cores, onnxruntime on one thread): 0.55 s per 960x540 frame read; a
    # minute of slides between moving scenes (12 shots, 6 still moments) read 18 frames in 9.9 s
    cost="~0.55 s of one core per frame read; ~10 s per minute of a slide video (18 frames), at most the budget",
    licence="rapidocr Apache-2.0 / PP-OCR models Apache-2.0",
    requirements="requirements-ai.txt",
    packages=("rapidocr", "onnxruntime"),
    size_mb=125,  # installed here: rapidocr with its models 33 MB, onnxruntime 78 MB, shapely/pyclipper/omegaconf ~14 MB
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
VIDEO_MIN_SCORE = 0.7  # stricter in video: textures and motion blur read as low-confidence "text"
# Still moments may use this share of the budget so far; keyframes (one per shot) the whole of it.
STILL_SHARE = 0.6
QUEUED_PICTURES = 4  # pictures (~1.5 MB each) waiting for the reader; the feeding thread waits beyond

log = logging.getLogger(__name__)
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
            "Global.log_level": "error",  # not "The text detection result is empty" for every picture without text
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
            from backend_app.adapters.vision.frames import opencv_threads

            started = time.perf_counter()
            engine = RapidOCR(params=_params())
            # rapidocr loads each stage on its first picture: read one now, before a worker forks,
            # with OpenCV on one thread: a pool started here would hang a forked horse the first
            # time it resized the pool (its threads are not in the child; frames.opencv_threads)
            with opencv_threads(1):
                engine(_warm_up_picture())
            _engine = engine
            log.info("OCR engine loaded in %.2f s in process %d", time.perf_counter() - started, os.getpid())
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
    """One video: the text in each shot's keyframe and in the still moments the decode pass hands
    on, read on a thread of its own (the pass and keyframe inspection only queue pictures),
    within the CPU budget, merged into items with their times."""

    wants_frames = True

    def __init__(self, ctx):
        super().__init__(ctx)
        warm()  # loaded before the worker forked; here only where nothing warmed it (the cost is not a frame's)
        self.budget = text_items.Budget(ctx.budget_s, ctx.duration_s)
        self.seen: list[tuple[int | None, text_items.Seen]] = []  # (shot for a keyframe, the line)
        self.read = {"keyframes": 0, "stills": 0}
        self.offered = {"keyframes": 0, "stills": 0}
        self._lock = threading.Lock()  # the budget, between the feeding threads and the reader
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUED_PICTURES)
        self._reader: threading.Thread | None = None
        self._stop = threading.Event()
        self._error: BaseException | None = None

    def keyframe(self, shot, start_s, end_s, picture) -> None:
        self._offer("keyframes", (shot, start_s, end_s), end_s, picture)  # the pass is at the shot's end

    def frame(self, t, picture) -> None:
        self._offer("stills", (None, t, t), t, picture, share=STILL_SHARE)

    def finish(self, shots: list[dict]) -> dict:
        self._end(wait=True)
        if self._error is not None:
            raise self._error
        texts = text_items.merge([line for _shot, line in self.seen])
        for row in shots:
            row["texts"] = _texts_in(row, self.seen, texts)
        return {"texts": texts, "text_sampling": self._sampling()}

    def close(self) -> None:
        self._end(wait=False)

    def _offer(self, kind: str, where: tuple, t: float, picture, share: float = 1.0) -> None:
        if self._stop.is_set():  # closed: a keyframe still on its way starts no reader that nobody ends
            return
        self.offered[kind] += 1
        with self._lock:
            if not self.budget.admit(t, share):
                return
        if self._reader is None:
            self._reader = threading.Thread(target=self._read_all, name="text-reader", daemon=True)
            self._reader.start()
        self._queue.put((kind, where, picture))  # waits while QUEUED_PICTURES wait: memory stays flat

    def _read_all(self) -> None:
        while (item := self._queue.get()) is not None:
            kind, where, picture = item
            with self._lock:
                over = self._stop.is_set() or self._error is not None or self.budget.exhausted()
            if over:  # keep taking pictures, so a feeding thread never waits on a reader that stopped
                with self._lock:
                    self.budget.done(None)
                continue
            started = time.thread_time()  # CPU seconds: onnxruntime runs on this thread (one intra-op thread)
            try:
                self._read_one(kind, where, picture)
            except BaseException as exc:  # finish() raises it: the analyser is "failed" with its reason
                self._error = exc
            finally:
                with self._lock:
                    self.budget.done(time.thread_time() - started)

    def _read_one(self, kind: str, where: tuple, picture) -> None:
        shot, start_s, end_s = where
        lines = read_text(picture, min_score=VIDEO_MIN_SCORE)
        self.read[kind] += 1
        # boxes in the video's pixels (the picture is at most 960 px on its long side, upright)
        factor = max(self.ctx.width, self.ctx.height) / max(picture.shape[:2])
        for line in lines:
            if text_items.worth_keeping(line.text):
                box = tuple(round(v * factor) for v in line.box)
                self.seen.append((shot, text_items.Seen(start_s, end_s, line.text, box, line.score)))

    def _end(self, wait: bool) -> None:
        if self._reader is None:
            return
        if not wait:
            self._stop.set()
        self._queue.put(None)
        self._reader.join()
        self._reader = None

    def _sampling(self) -> dict:
        offered = sum(self.offered.values())
        read = sum(self.read.values())
        row = {
            "offered": dict(self.offered),
            "read": dict(self.read),
            "skipped": offered - read,
            "budget_s": round(self.budget.budget_s, 1),
            "spent_s": round(self.budget.spent_s, 2),
            "cost_per_frame_s": round(self.budget.cost_s, 3) if self.budget.measured else None,
            "note": "",
        }
        if offered > read:
            row["note"] = (
                f"{offered - read} of {offered} frames not read: reading them all would pass the "
                f"{self.budget.budget_s:.0f} s CPU budget (ANALYSER_BUDGET_S_PER_MIN), so frames were "
                "sampled more thinly"
            )
        return row


def _texts_in(shot: dict, seen: list, items: list[dict]) -> list[str]:
    """The texts (as in ``items``) seen in this shot: in its keyframe or a still moment within it."""
    found: list[str] = []
    for index, line in seen:
        inside = index == shot["index"] if index is not None else shot["start_s"] <= line.start_s < shot["end_s"]
        if not inside:
            continue
        name = next(
            (
                i["text"]
                for i in items
                if i["start_s"] <= line.start_s <= i["end_s"] and text_items.similar(i["text"], line.text)
            ),
            line.text,
        )
        if name not in found:
            found.append(name)
    return found
