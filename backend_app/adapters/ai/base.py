"""What every analyser declares and implements (see the package docstring)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any, ClassVar


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
