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
import sys
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
    # measured here (2 shared cores, onnxruntime on one thread, the detector at 640 px): 0.09-0.2 s
    # per 960x540 frame read; the narrated 720p bench minute: 24 frames offered, 18 read by OCR
    # (6 the same as one read) in 1.6 s CPU (2.0 s before whole-frame boxes skipped the recogniser),
    # on a thread of its own the decode pass never waits for; the detector is ~80 % of it
    cost="~0.09-0.13 s of one core per distinct frame read, identical frames free; ~1.6 s per minute of the "
    "bench video (18 frames), at most the budget",
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
# Pictures (~1.5 MB each, 48 MB at most) waiting for the reader; beyond, the nearest duplicate is
# dropped (the pass never waits for OCR). 12 were too few once the pass and speech got faster: on
# the bench minute the reader, at the lowest priority, fell behind and 10 of 26 frames were dropped
# (1 text found of 3); with 32, none (the same 3 texts, the whole analysis 2.43x, +60 MB peak).
PENDING_PICTURES = 32
# In video the detector looks at the frame at this long side (the recogniser at the found lines in
# the full frame): 0.09 s per 960x540 frame here against 0.47 s at rapidocr's default (short side
# scaled up to 736), the same lines read down to 22 px text.
VIDEO_DETECT_SIDE = 640
# In video a detected box taller than this share of the picture is no line of text: the detector's
# whole-frame boxes on busy textures (8 of the bench minute's 18 frames read, ~0.03 s of recogniser
# each, never a line kept); the recogniser skips them. Scans keep every box (read_text's default).
VIDEO_TALLEST_LINE = 0.4
THUMB_SIZE = (32, 18)  # the grey thumbnail two frames are compared by
# Two thumbnails no pixel of which differs by this much (0-255) are the same picture: a new
# subtitle line changes some of its cells by 30-60, coding noise by ~1.
SAME_PICTURE = 10.0

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


def read_text(
    picture_bgr, min_score: float = MIN_SCORE, detect_side: int | None = None, tallest: float | None = None
) -> list[OcrLine]:
    """The lines of text in a BGR picture (uint8, H x W x 3, or H x W grey), top to bottom.

    ``detect_side``: the detector looks at the picture scaled down to this long side (never up),
    the recogniser at the full picture's lines; None: rapidocr's default (short side up to 736,
    for scanned pages with small print). 640 costs a fifth of the default on a 960x540 frame.
    ``tallest``: boxes the detector finds taller than this share of the picture's height are not
    recognised (None: all are)."""
    import numpy as np

    picture = _as_bgr(picture_bgr, np)
    engine = warm()
    with _call_lock:
        detector = engine.text_det  # loaded by warm(); its size limits are read on every call
        before = detector.limit_type, detector.limit_side_len
        if detect_side is not None:
            detector.limit_type, detector.limit_side_len = "max", detect_side
        if not isinstance(detector.postprocess_op, _LineBoxes):
            detector.postprocess_op = _LineBoxes(detector.postprocess_op)
        detector.postprocess_op.tallest = tallest
        try:
            result = engine(picture)
        finally:
            detector.limit_type, detector.limit_side_len = before
            detector.postprocess_op.tallest = None
    texts, scores, boxes = result.txts or (), result.scores or (), result.boxes
    lines: list[OcrLine] = []
    for i, (text, score) in enumerate(zip(texts, scores, strict=False)):
        clean = unicodedata.normalize("NFC", str(text)).strip()
        if not clean or float(score) < min_score:
            continue
        lines.append(OcrLine(clean, _box(boxes[i], np), round(float(score), 4)))
    return lines


class _LineBoxes:
    """The detector's post-processing (boxes from its probability map), dropping boxes taller than
    ``tallest`` of the picture's height before the recogniser sees them (rapidocr skips the
    recogniser when no box is left)."""

    def __init__(self, inner):
        object.__setattr__(self, "inner", inner)
        object.__setattr__(self, "tallest", None)

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def __setattr__(self, name, value):  # rapidocr sets box_thresh/unclip_ratio on it per call
        if name == "tallest":
            object.__setattr__(self, name, value)
        else:
            setattr(self.inner, name, value)

    def __call__(self, preds, shape):
        import numpy as np

        boxes, scores = self.inner(preds, shape)
        if self.tallest is None or len(boxes) == 0:
            return boxes, scores
        quads = np.asarray(boxes, dtype=float).reshape(len(boxes), -1, 2)
        heights = quads[:, :, 1].max(axis=1) - quads[:, :, 1].min(axis=1)
        keep = heights <= self.tallest * shape[0]
        return np.asarray(boxes)[keep], [score for score, kept in zip(scores, keep, strict=True) if kept]


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


@dataclass
class _Frame:
    """A picture offered to the reader: its kind, shot and time span, and its thumbnail."""

    kind: str
    where: tuple  # (shot for a keyframe or None, start_s, end_s)
    t: float  # where the pass was when it was offered
    picture: object
    thumb: object  # THUMB_SIZE grey, float32
    share: float


class Run(Analyser):
    """One video: the text in each shot's keyframe and in the still moments the decode pass hands
    on, read on a thread of its own at the lowest priority, within the CPU budget, merged into
    items with their times.

    Offering a picture never waits: the pass and the keyframe-inspecting thread only add it to a
    bounded set (PENDING_PICTURES; beyond it the nearest duplicate is dropped). A picture that
    looks the same as one already read (SAME_PICTURE, on a 32x18 grey thumbnail) takes that one's
    lines without OCR. During the pass the reader keeps to the budget's pace over the video; after
    it (``finish``) it reads what is left, spread over the video, within the whole budget."""

    wants_frames = True

    def __init__(self, ctx):
        super().__init__(ctx)
        warm()  # loaded before the worker forked; here only where nothing warmed it (the cost is not a frame's)
        self.budget = text_items.Budget(ctx.budget_s, ctx.duration_s)
        self.seen: list[tuple[int | None, text_items.Seen]] = []  # (shot for a keyframe, the line)
        self.read = {"keyframes": 0, "stills": 0}  # frames whose text is known (by OCR or a duplicate's)
        self.offered = {"keyframes": 0, "stills": 0}
        self.ocr_runs = 0
        self.duplicates = 0  # read from an identical frame's lines, without OCR
        self.dropped = 0  # the nearest duplicates dropped while the reader was behind
        self._cond = threading.Condition()  # the pending set, the known frames, ``seen`` and the pass position
        self._pending: list[_Frame] = []
        self._known: list[tuple[object, float, list]] = []  # (thumbnail, time, lines in video pixels) read by OCR
        self._now_s = 0.0  # how far the pass has got
        self._passed = False
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._reader: threading.Thread | None = threading.Thread(target=self._read_all, name="text-reader", daemon=True)
        self._reader.start()

    def keyframe(self, shot, start_s, end_s, picture) -> None:
        self._offer("keyframes", (shot, start_s, end_s), end_s, picture)  # the pass is at the shot's end

    def frame(self, t, picture) -> None:
        self._offer("stills", (None, t, t), t, picture, share=STILL_SHARE)

    def finish(self, shots: list[dict]) -> dict:
        self._end(stop=False)
        if self._error is not None:
            raise self._error
        texts = text_items.merge([line for _shot, line in self.seen])
        for row in shots:
            row["texts"] = _texts_in(row, self.seen, texts)
        return {"texts": texts, "text_sampling": self._sampling()}

    def close(self) -> None:
        self._end(stop=True)

    def _offer(self, kind: str, where: tuple, t: float, picture, share: float = 1.0) -> None:
        if self._stop.is_set() or self._reader is None:  # closed: a keyframe still on its way is ignored
            return
        try:
            thumb = _thumbnail(_as_bgr(picture, _np()))  # ~0.3 ms
        except ValueError as exc:  # a picture OCR cannot take: finish() raises it, the analyser "failed"
            self._error = self._error or exc
            return
        with self._cond:
            self.offered[kind] += 1
            self._now_s = max(self._now_s, t)
            same = self._same_as_read(thumb)
            if same is not None:  # the same picture as one read: its text, without OCR
                self._record(_Frame(kind, where, t, None, thumb, share), same)
                self.duplicates += 1
                return
            self._pending.append(_Frame(kind, where, t, picture, thumb, share))
            if len(self._pending) > PENDING_PICTURES:
                self._pending.remove(self._nearest_duplicate())
                self.dropped += 1
            self._cond.notify()

    def _read_all(self) -> None:
        _lowest_priority()
        while True:
            with self._cond:
                frame = self._next()
                while frame is None:
                    if self._stop.is_set() or (self._passed and not self._pending):
                        return
                    if self._passed and self.budget.exhausted():
                        return  # the rest stays unread: the sampling note says how many
                    self._cond.wait(0.25)  # the pass moves on (the budget's pace) or ends
                    frame = self._next()
            try:
                self._read_one(frame)
            except BaseException as exc:  # finish() raises it: the analyser is "failed" with its reason
                self._error = exc
                return

    def _next(self) -> _Frame | None:
        """The pending frame to read now (called holding the lock): during the pass the earliest,
        when the budget's pace allows; after it the one farthest from those read, within the budget."""
        if self._stop.is_set() or not self._pending:
            return None
        if not self._passed:
            frame = min(self._pending, key=lambda f: f.t)
            if not self.budget.on_pace(self._now_s, frame.share):
                return None
        else:
            if self.budget.exhausted():
                return None
            times = [t for _thumb, t, _lines in self._known]
            frame = max(self._pending, key=lambda f: min((abs(f.t - t) for t in times), default=f.t))
        self._pending.remove(frame)
        return frame

    def _read_one(self, frame: _Frame) -> None:
        with self._cond:
            same = self._same_as_read(frame.thumb)  # read meanwhile
        if same is None:
            started = time.thread_time()  # CPU seconds: onnxruntime runs on this thread (one intra-op thread)
            try:
                lines = read_text(
                    frame.picture, min_score=VIDEO_MIN_SCORE, detect_side=VIDEO_DETECT_SIDE, tallest=VIDEO_TALLEST_LINE
                )
            finally:
                with self._cond:
                    self.budget.spend(time.thread_time() - started)
            # boxes in the video's pixels (the picture is at most 960 px on its long side, upright)
            factor = max(self.ctx.width, self.ctx.height) / max(frame.picture.shape[:2])
            same = [
                text_items.Seen(0, 0, line.text, tuple(round(v * factor) for v in line.box), line.score)
                for line in lines
                if text_items.worth_keeping(line.text)
            ]
        with self._cond:
            if frame.picture is not None and not self._known_thumb(frame.thumb):
                self._known.append((frame.thumb, frame.t, same))
                self.ocr_runs += 1
            else:
                self.duplicates += 1
            self._record(frame, same)

    def _record(self, frame: _Frame, lines: list) -> None:
        shot, start_s, end_s = frame.where
        self.read[frame.kind] += 1
        for line in lines:
            self.seen.append((shot, text_items.Seen(start_s, end_s, line.text, line.box, line.score)))

    def _same_as_read(self, thumb) -> list | None:
        for known, _t, lines in self._known:
            if _difference(known, thumb).max() < SAME_PICTURE:
                return lines
        return None

    def _known_thumb(self, thumb) -> bool:
        return self._same_as_read(thumb) is not None

    def _nearest_duplicate(self) -> _Frame:
        """The pending frame most like another (pending or read): a keyframe unlike every other is
        kept over any still (it carries its shot's texts)."""
        others = [f.thumb for f in self._pending] + [k for k, _t, _lines in self._known]

        def likeness(frame: _Frame) -> tuple[bool, float]:
            distance = min(
                (float(_difference(frame.thumb, o).mean()) for o in others if o is not frame.thumb),
                default=float("inf"),
            )
            return (frame.kind == "keyframes" and distance >= SAME_PICTURE, distance)

        return min(self._pending, key=likeness)

    def _end(self, stop: bool) -> None:
        reader = self._reader
        if reader is None:
            return
        with self._cond:
            if stop:
                self._stop.set()
            self._passed = True
            self._cond.notify_all()
        reader.join()
        self._reader = None

    def _sampling(self) -> dict:
        offered = sum(self.offered.values())
        read = sum(self.read.values())
        row = {
            "offered": dict(self.offered),
            "read": dict(self.read),
            "ocr_runs": self.ocr_runs,
            "duplicates": self.duplicates,
            "dropped": self.dropped,
            "skipped": offered - read,
            "budget_s": round(self.budget.budget_s, 1),
            "spent_s": round(self.budget.spent_s, 2),
            "cost_per_frame_s": round(self.budget.cost_s, 3) if self.budget.measured else None,
            "note": "",
        }
        if offered > read:
            row["note"] = (
                f"{offered - read} of {offered} frames not read: reading them all would pass the "
                f"{self.budget.budget_s:g} s CPU budget (ANALYSER_BUDGET_S_PER_MIN), so frames were "
                "sampled more thinly"
            )
        return row


def _np():
    import numpy as np

    return np


def _thumbnail(picture):
    """The picture as THUMB_SIZE grey (float32, 0-255): what two frames are compared by."""
    import cv2

    grey = cv2.cvtColor(picture, cv2.COLOR_BGR2GRAY)
    return cv2.resize(grey, THUMB_SIZE, interpolation=cv2.INTER_AREA).astype("float32")


def _difference(a, b):
    return abs(a - b)


def _lowest_priority() -> None:
    """The calling thread at nice 19 (Linux keeps a nice value per thread): OCR has time until the
    pass ends, the decoder and keyframe inspection come first when they want a core."""
    if not sys.platform.startswith("linux"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):
        pass


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
