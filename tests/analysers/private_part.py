"""A test double of an analyser module whose part has a private key and a warning: the report must
carry the warning (with the measured ones) and never the private part."""

from __future__ import annotations

from backend_app.adapters.ai.base import Analyser, AnalyserInfo

INFO = AnalyserInfo(
    name="nsfw",
    input="keyframes",
    summary="returns a private part and a warning (a test double)",
    cost="nothing",
    licence="MIT",
    requirements="requirements-nsfw.txt",
    packages=("json",),
    size_mb=0,
    default=False,
)


def warm() -> None:
    pass


class Run(Analyser):
    def finish(self, shots):
        return {
            "_secret": {"embedding": b"\x00" * 8},
            "warnings": [{"code": "CONTENT_FLAGGED", "message": "a test double's warning", "shots": [0]}],
        }
