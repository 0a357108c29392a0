"""What every analyser declares and implements (see the package docstring)."""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

_made: dict[str, tuple[int, Any]] = {}
_made_lock = threading.Lock()


def per_process(key: str, make: Callable[[], Any]) -> Any:
    """One object per process, made on first use in it: for runtimes whose sessions do not survive
    ``fork`` (MediaPipe graphs, ONNX Runtime's thread pools), so a work horse never uses its parent's."""
    with _made_lock:
        pid, made = _made.get(key, (None, None))
        if pid != os.getpid():
            made = make()
            _made[key] = (os.getpid(), made)
        return made


@dataclass(frozen=True)
class AnalyserInfo:
    name: str  # as written in ANALYSERS
    input: str  # "audio", "keyframes" or "frames" (still frames sampled by the decode pass)
    summary: str  # what it finds, for /health, the README and the report
    cost: str  # measured CPU cost, in words ("~4 ms per image")
    licence: str  # code / weights
    requirements: str  # the file that installs it: requirements-ai.txt (make run) or an opt-in one
    packages: tuple[str, ...]  # import names that must be importable for it to run
    size_mb: int  # installed size of what it needs beyond the base install
    default: bool  # in the default ANALYSERS

    def missing(self) -> list[str]:
        """The import names of ``packages`` that are not installed (without importing them)."""
        return [name for name in self.packages if importlib.util.find_spec(name) is None]


@dataclass(frozen=True)
class Context:
    """One video, as an analyser sees it. ``budget_s`` is its CPU budget for this video: an
    analyser samples fewer frames (or stops) rather than run past it, and says so in its part."""

    path: str
    workdir: str
    duration_s: float
    fps: float
    width: int
    height: int
    budget_s: float
    language: str | None = None  # the spoken language when the user knows it ("en", "de")
    settings: Any = None


class Analyser:
    """One video's run of an analyser. Called from the pipeline's threads: ``keyframe`` from the
    keyframe-inspecting thread, ``frame`` from the decode pass, ``finish`` once after both."""

    info: ClassVar[AnalyserInfo]
    wants_frames: ClassVar[bool] = False  # still frames from the decode pass, besides keyframes

    def __init__(self, ctx: Context):
        self.ctx = ctx

    def keyframe(self, shot: int, start_s: float, end_s: float, picture) -> None:
        """A shot's keyframe (BGR, at most 960 px on its long side)."""

    def frame(self, t: float, picture) -> None:
        """A still frame at ``t`` seconds (only when ``wants_frames``)."""

    def finish(self, shots: list[dict]) -> dict:
        """This analyser's part of the report (e.g. ``{"transcript": [...]}``); may add per-shot
        fields to ``shots`` (e.g. ``people``). Blocks until its own work (a thread) is done."""
        return {}

    def close(self) -> None:
        """Stop early (the analysis failed or was cancelled): end threads, drop buffers."""


def on_pace(ctx: Context, spent_s: float, until_s: float) -> bool:
    """Whether an analyser that has spent ``spent_s`` may look at what ends at ``until_s``: the
    budget is spread over the video (by ``until_s``, a share of it is available), so a spent budget
    thins the sampling across the whole video instead of dropping its end. The first look is free."""
    if spent_s <= 0:
        return True
    share = min(1.0, until_s / ctx.duration_s) if ctx.duration_s > 0 else 1.0
    return spent_s < ctx.budget_s * share


class KeyframeAnalyser(Analyser):
    """An analyser that inspects keyframes within its CPU budget: a keyframe off pace (on_pace) is
    skipped and its shot listed in ``skipped``; ``spent_s`` sums the time ``inspect`` took."""

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self.skipped: list[int] = []
        self.spent_s = 0.0

    def keyframe(self, shot: int, start_s: float, end_s: float, picture) -> None:
        if not on_pace(self.ctx, self.spent_s, end_s):  # the budget, spread over the video
            self.skipped.append(shot)
            return
        started = time.perf_counter()
        self.inspect(shot, picture)
        self.spent_s += time.perf_counter() - started

    def inspect(self, shot: int, picture) -> None:
        """The work on one shot's keyframe (BGR, at most 960 px on its long side)."""

    def pacing(self) -> dict:
        """The part of the report that says what the budget allowed."""
        return {"skipped_shots": self.skipped, "seconds": round(self.spent_s, 3)}
