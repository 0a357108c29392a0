"""The report's audio section and its facts: NO_AUDIO, SILENT, AUDIO_UNREADABLE.

``audio`` is ``{codec, channels, sample_rate, duration_s, loudness:[{t, dbfs}], window_s,
peak_dbfs, silent, silence_dbfs, silences:[[start_s, end_s]], decoded, decode_s}`` (see the vision
adapter's audio module for how loudness is measured), or null when the file has no audio stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backend_app.wording import counted

if TYPE_CHECKING:  # built in the worker; keep PyAV out of web imports
    from backend_app.adapters.vision import AudioTrack


def audio_section(track: AudioTrack | None) -> dict | None:
    """The report's ``audio``: what the track is and how loud it is over time (None: no audio stream)."""
    return track.to_dict() if track is not None else None


def audio_facts(track: AudioTrack | None) -> list[dict]:
    """NO_AUDIO when there is no audio stream, SILENT when no half second of it reaches the threshold."""
    if track is None:
        return [{"code": "NO_AUDIO", "message": "The file has no audio track."}]
    what = f"({track.codec}, {counted(track.channels, 'channel')})"
    if not track.decoded:
        return [{"code": "AUDIO_UNREADABLE", "message": f"The audio track {what} could not be measured: {track.note}"}]
    if not track.silent:
        return []
    data = track.to_dict()
    return [
        {
            "code": "SILENT",
            "message": f"The audio track {what} is silent: its loudest half second was {track.peak_dbfs:.1f} dBFS, "
            f"under the {data['silence_dbfs']:g} dBFS threshold.",
            "measured": {
                "metric": "peak_dbfs",
                "value": track.peak_dbfs,
                "threshold": data["silence_dbfs"],
                "unit": "dBFS",
            },
        }
    ]
