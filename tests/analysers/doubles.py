"""Test doubles of analyser modules (INFO, warm, Run), registered in place of the real ones to
test the framework itself: guarding, statuses, report parts. The real analysers have their own tests."""

from __future__ import annotations

from backend_app.adapters.ai.base import Analyser, AnalyserInfo

INFO = AnalyserInfo(
    name="speech",
    input="keyframes",
    summary="counts keyframes (a test double)",
    cost="nothing",
    licence="MIT",
    requirements="requirements-ai.txt",
    packages=("json",),
    size_mb=0,
    default=True,
)
WARMED: list[str] = []


def warm() -> None:
    WARMED.append("speech")


class Run(Analyser):
    def __init__(self, ctx):
        super().__init__(ctx)
        self.seen: list[tuple[int, float, float, tuple]] = []

    def keyframe(self, shot, start_s, end_s, picture):
        self.seen.append((shot, start_s, end_s, picture.shape))

    def finish(self, shots):
        for shot in shots:
            shot["people_count"] = sum(1 for s in self.seen if s[0] == shot["index"])
        return {
            "transcript": [
                {"start_s": s[1], "end_s": s[2], "text": f"shot {s[0]}", "language": "en"} for s in self.seen
            ]
        }
