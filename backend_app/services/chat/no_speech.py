"""Why a video has no transcript, from its report: the speech analyser's row (``analysers``:
off, not installed, failed) or, when it ran, the audio facts (NO_AUDIO, SILENT) or no speech heard.

"What is said about balloons?" over videos without a transcript says which of these it is,
instead of listing what the picture analysis measures.
"""

from __future__ import annotations

from backend_app.services.chat.facts import Video
from backend_app.services.chat.phrasing import listing

MAX_NAMED = 4


def reason(video: Video) -> str:
    """Why ``video`` has no transcript, as a clause ("the speech analyser is not installed")."""
    row = next((r for r in video.analysers if r.get("name") == "speech"), None)
    state = (row or {}).get("state")
    if row is None or state == "disabled":
        return "the speech analyser was off when it was analysed"
    if state in ("not_installed", "not_built"):
        return "the speech analyser is not installed"
    if state == "failed":
        return "the speech analyser failed on it"
    if "NO_AUDIO" in video.warnings:
        return "it has no audio track"
    if "SILENT" in video.warnings:
        return "its audio track is silent"
    return "no speech was heard in it"


def why(videos: list[Video]) -> str:
    """The videos' reasons, grouped: "a.mp4 has no transcript because it has no audio track." or, for
    several, "No video has a transcript: a.mp4 and b.mp4: …; c.mp4: …"."""
    if len(videos) == 1:
        return f"{videos[0].filename} has no transcript because {reason(videos[0])}."
    grouped: dict[str, list[str]] = {}
    for video in videos:
        grouped.setdefault(reason(video), []).append(video.filename)
    parts = []
    for why_not, names in grouped.items():
        shown = listing(names[:MAX_NAMED] + ([f"{len(names) - MAX_NAMED} more"] if len(names) > MAX_NAMED else []))
        parts.append(f"{shown}: {why_not}")
    return f"no video in scope has a transcript ({'; '.join(parts)})."
