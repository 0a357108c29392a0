"""Videos with known sound, made by ffmpeg from its lavfi sources: a tone, silence, none, a late tone."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.media import require_ffmpeg

TONE_DBFS = -21.1  # ffmpeg's sine (amplitude 1/8) as RMS dBFS: 20*log10(0.125/sqrt(2))


def av_clip(
    path: str | Path,
    seconds: float,
    audio: str | None,
    *,
    audio_codec: tuple[str, ...] = ("-c:a", "aac", "-b:a", "96k"),
    size: str = "320x180",
) -> Path:
    """testsrc2 for ``seconds`` with the lavfi audio graph ``audio`` (None: no audio stream)."""
    ffmpeg, path = require_ffmpeg(), Path(path)
    cmd = [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}"]
    if audio is not None:
        cmd += ["-f", "lavfi", "-i", audio, "-map", "0:v", "-map", "1:a", *audio_codec]
    cmd += ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-t", str(seconds), str(path)]
    subprocess.run(cmd, check=True, timeout=120)
    return path


def tone(seconds: float, rate: int = 48000) -> str:
    """The tone at full level on both channels of a stereo track (TONE_DBFS)."""
    return f"sine=frequency=440:sample_rate={rate}:duration={seconds},pan=stereo|c0=c0|c1=c0"


def silence(seconds: float, rate: int = 48000) -> str:
    return f"anullsrc=r={rate}:cl=stereo,atrim=duration={seconds}"


def late_tone(seconds: float, start_s: float, rate: int = 48000) -> str:
    """Silence until ``start_s``, then the tone to the end (mono, TONE_DBFS)."""
    delay = int(start_s * 1000)
    return (
        f"sine=frequency=440:sample_rate={rate}:duration={seconds - start_s},adelay={delay}:all=1,"
        f"apad=whole_dur={seconds},aformat=channel_layouts=mono"
    )
