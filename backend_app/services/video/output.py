"""What the in-process pipeline hands on: measurements, keyframe files, then the report.

Its own module so that the pipeline (which fills it) and the report (which reads it) both
depend on it rather than on each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # read in the worker; keep cv2 out of web imports
    from backend_app.adapters.vision import AudioTrack, PassResult, VideoMetadata


@dataclass
class PipelineOutput:
    meta: VideoMetadata
    passed: PassResult
    shots: list[dict]  # measured + keyframe findings, before descriptions
    thumbs: dict[int, str]  # shot index -> thumbnail JPEG path
    contact_sheet: str | None
    preview: str | None = None  # the browser-playable rendition's path (a source browsers cannot play)
    report: dict = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    audio: AudioTrack | None = None  # None: the file has no audio stream
    found: dict = field(default_factory=dict)  # the AI analysers' report parts (transcript, texts, people…)
    analysers: list[dict] = field(default_factory=list)  # one row per analyser: name, state, reason, seconds
