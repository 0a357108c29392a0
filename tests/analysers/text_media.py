"""Pictures and videos with text drawn in them (PIL, a real TrueType font with ä ö ü ß), for the
text analyser's tests."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests import media

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
)


def font_path() -> str:
    """A TrueType font with ä ö ü ß: the system's DejaVu/Liberation, else Bitstream Vera from reportlab's wheel."""
    for path in FONT_CANDIDATES:
        if os.path.isfile(path):
            return path
    spec = importlib.util.find_spec("reportlab")
    if spec is not None and spec.origin:
        vera = os.path.join(os.path.dirname(spec.origin), "fonts", "Vera.ttf")
        if os.path.isfile(vera):
            return vera
    pytest.skip("no TrueType font with umlauts: install fonts-dejavu-core (or reportlab, which ships Vera)")


def drawn(lines: Sequence[tuple[str, tuple[int, int]]], size=(960, 540), px=44, bg="white", fg="black") -> np.ndarray:
    """A BGR picture with each text drawn at its (x, y)."""
    return np.ascontiguousarray(_rgb(lines, size, px, bg, fg)[:, :, ::-1])


def _rgb(lines, size, px, bg, fg) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", size, bg)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(font_path(), px)
    for text, at in lines:
        draw.text(at, text, font=font, fill=fg)
    return np.asarray(image).copy()


@dataclass(frozen=True)
class Scene:
    """From ``start_s`` to ``end_s``: a slide with ``lines`` on ``bg``, or (no lines) a moving square."""

    start_s: float
    end_s: float
    lines: tuple[tuple[str, tuple[int, int]], ...] = ()
    bg: tuple[int, int, int] = (255, 255, 255)
    fg: tuple[int, int, int] = (0, 0, 0)


def text_video(path: Path, scenes: Sequence[Scene], fps: int = 25, size=(960, 540)) -> Path:
    """An H.264 video of the scenes (RGB frames piped to ffmpeg); slides are still, the rest moves."""
    ffmpeg = media.require_ffmpeg()
    width, height = size
    end = max(s.end_s for s in scenes)
    slides = {id(s): _rgb(s.lines, size, 44, s.bg, s.fg) for s in scenes if s.lines}

    def frames():
        for i in range(int(round(end * fps))):
            t = i / fps
            scene = next(s for s in scenes if s.start_s <= t < s.end_s)
            if scene.lines:
                yield slides[id(scene)]
            else:
                yield media.shot_frame(i * 6, scenes.index(scene), width, height, fps)

    cmd = [ffmpeg, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}"]
    cmd += ["-r", str(fps), "-i", "-", *media.CODECS["h264"], "-r", str(fps), str(path)]
    media.pipe_frames(cmd, frames())
    return path
