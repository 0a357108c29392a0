"""A test double of an analyser that fails on its first keyframe (see doubles.py)."""

from __future__ import annotations

from backend_app.adapters.ai.base import Analyser, AnalyserInfo

INFO = AnalyserInfo(
    name="text",
    input="keyframes",
    summary="fails (a test double)",
    cost="nothing",
    licence="MIT",
    requirements="requirements-ai.txt",
    packages=("json",),
    size_mb=0,
    default=True,
)


def warm() -> None:
    raise RuntimeError("no model here")


class Run(Analyser):
    def keyframe(self, shot, start_s, end_s, picture):
        raise ValueError("cannot read this picture")

    def finish(self, shots):
        raise AssertionError("finish is not called after a failure")
