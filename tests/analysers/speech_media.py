"""Videos with speech at known seconds: espeak-ng says each sentence, ffmpeg puts it at its offset
over silence and muxes it with a test picture (also used by bench/video.py --part analysers)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

EN = ("en", "The red balloon floats over the old town.")
DE = ("de", "Guten Morgen. Heute scheint die Sonne über der Stadt, und wir fahren mit dem Fahrrad zum Bahnhof.")


def require_espeak() -> str:
    found = shutil.which("espeak-ng")
    if found is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng) — needed to make speech")
    return found


def speech_video(
    path: str | Path, seconds: float, said: list[tuple[float, str, str]], *, size: str = "320x240"
) -> Path:
    """``seconds`` of testsrc2 at 25 fps with AAC audio: silence, and each (offset_s, voice, text)
    spoken by espeak-ng from its offset on."""
    espeak, ffmpeg = require_espeak(), shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg) — needed to make the test videos")
    path = Path(path)
    with tempfile.TemporaryDirectory() as scratch:
        inputs, chains, labels = [], [], []
        for n, (offset_s, voice, text) in enumerate(said):
            wav = Path(scratch) / f"{n}.wav"
            subprocess.run([espeak, "-v", voice, "-s", "140", "-w", str(wav), text], check=True, timeout=60)
            inputs += ["-i", str(wav)]
            delay = int(offset_s * 1000)
            chains.append(f"[{n + 2}:a]adelay={delay}|{delay}[s{n}]")
            labels.append(f"[s{n}]")
        mix = ";".join([*chains, f"[1:a]{''.join(labels)}amix=inputs={len(said) + 1}:duration=first:normalize=0[a]"])
        cmd = [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}"]
        cmd += ["-f", "lavfi", "-i", f"anullsrc=r=22050:cl=mono:d={seconds}", *inputs]
        cmd += ["-filter_complex", mix, "-map", "0:v", "-map", "[a]", "-c:v", "libx264", "-preset", "veryfast"]
        cmd += ["-pix_fmt", "yuv420p", "-c:a", "aac", "-t", str(seconds), str(path)]
        subprocess.run(cmd, check=True, timeout=120)
    return path
