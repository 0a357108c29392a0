"""The labelled set the quality warnings are calibrated on (and held to by the tests).

Each clip is a real file made here: drawn "animated" scenes (flat colours, dark outlines) encoded
by ffmpeg, and ffmpeg's own test sources (testsrc2, mandelbrot, life, smptebars) passed through
darkening, blur, noise, shake, freeze and black-out filters. Each clip carries the warnings it
must raise and must not raise; a code not in ``expect`` must stay silent on it. Clips are one
shot of 3-5 s at 320x180 or 640x360, so the whole set takes a few seconds to make and analyse.

``bench/warnings_calibration.py`` prints precision and recall per warning on this set;
``tests/services/test_warning_calibration.py`` asserts every label.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from backend_app.adapters import vision
from backend_app.services.video.quality import quality_warnings
from backend_app.services.video.report import shot_dicts
from tests.media import require_ffmpeg
from tests.video_scenes import encode

CODES = ("TOO_DARK", "BLURRY", "SHAKY", "FROZEN_FRAMES", "BLACK_FRAMES")
FPS = 25
STRIDE = 2  # VIDEO_SAMPLE_STRIDE's default
LIMITS = vision.Limits(max_duration_s=3600, max_pixels=3840 * 2160, max_frames=600_000)
X264 = ("-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast", "-crf", "20")

# Flat-colour palettes (BGR) of a drawn scene: background top, background bottom, the figures.
PALETTES = {
    # a daylight exterior
    "day": ((235, 200, 140), (90, 170, 100), [(60, 90, 230), (40, 200, 250), (230, 230, 230), (200, 120, 60)]),
    # a normally lit interior with dark walls: mean luma ~0.15, the animated film that was "TOO_DARK"
    "interior": ((30, 24, 22), (24, 30, 36), [(60, 130, 240), (200, 170, 90), (235, 235, 235), (120, 200, 230)]),
    # a night exterior, lit figures against a dark sky
    "night": ((70, 30, 18), (30, 45, 35), [(180, 210, 240), (60, 200, 250), (220, 220, 220), (160, 90, 200)]),
}


@dataclass(frozen=True)
class Clip:
    name: str
    expect: frozenset[str]  # the warnings this clip must raise; every other code must stay silent
    make: Callable[[Path], Path]  # writes the clip under the given directory, returns its path
    kind: str  # "drawn" or "ffmpeg source"


def cartoon(i: int, palette: str = "day", size: tuple[int, int] = (320, 180), offset: tuple[int, int] = (0, 0)):
    """A drawn scene: flat colours, thick dark outlines, two figures walking; ``offset`` moves the camera."""
    width, height = size
    s = width / 320
    top, bottom, colours = PALETTES[palette]
    pad = int(24 * s)
    canvas = np.empty((height + 2 * pad, width + 2 * pad, 3), np.uint8)
    horizon = int(canvas.shape[0] * 0.62)
    canvas[:horizon], canvas[horizon:] = top, bottom
    ink, line = (18, 16, 20), max(2, int(3 * s))
    # a house and a round thing in the sky (sun, moon or lamp)
    x0, y0 = int(40 * s) + pad, horizon - int(60 * s)
    cv2.rectangle(canvas, (x0, y0), (x0 + int(70 * s), horizon), colours[2], -1)
    cv2.rectangle(canvas, (x0, y0), (x0 + int(70 * s), horizon), ink, line)
    roof = np.array([[x0 - int(8 * s), y0], [x0 + int(35 * s), y0 - int(35 * s)], [x0 + int(78 * s), y0]])
    cv2.fillPoly(canvas, [roof], colours[3])
    cv2.polylines(canvas, [roof], True, ink, line)
    cv2.rectangle(canvas, (x0 + int(25 * s), y0 + int(25 * s)), (x0 + int(45 * s), horizon), colours[0], -1)
    cv2.rectangle(canvas, (x0 + int(25 * s), y0 + int(25 * s)), (x0 + int(45 * s), horizon), ink, line)
    cv2.circle(canvas, (int(260 * s) + pad, int(40 * s) + pad), int(18 * s), colours[1], -1)
    cv2.circle(canvas, (int(260 * s) + pad, int(40 * s) + pad), int(18 * s), ink, line)
    for k, colour in enumerate(colours[:2]):
        cx = pad + int((140 + 60 * k) * s + (i * (1.5 + k)) % (80 * s))
        cy = horizon - int(30 * s)
        cv2.ellipse(canvas, (cx, cy), (int(14 * s), int(26 * s)), 0, 0, 360, colour, -1)
        cv2.ellipse(canvas, (cx, cy), (int(14 * s), int(26 * s)), 0, 0, 360, ink, line)
        cv2.circle(canvas, (cx, cy - int(36 * s)), int(11 * s), colours[2], -1)
        cv2.circle(canvas, (cx, cy - int(36 * s)), int(11 * s), ink, line)
        cv2.circle(canvas, (cx + int(4 * s), cy - int(38 * s)), max(1, int(2 * s)), ink, -1)
    dx, dy = offset
    return canvas[pad + dy : pad + dy + height, pad + dx : pad + dx + width]


def _drawn(name: str, expect: set[str], seconds: float, frame: Callable[[int], np.ndarray], size=(320, 180)) -> Clip:
    def make(directory: Path) -> Path:
        frames = (frame(i) for i in range(int(seconds * FPS)))
        return encode(directory / f"{name}.mp4", frames, fps=FPS, size=size, codec=X264)

    return Clip(name, frozenset(expect), make, "drawn")


def _lavfi(name: str, expect: set[str], source: str, filters: str = "", seconds: float = 3.0) -> Clip:
    def make(directory: Path) -> Path:
        path = directory / f"{name}.mp4"
        chain = ["-vf", filters] if filters else []
        cmd = [require_ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", source, "-t", str(seconds)]
        subprocess.run([*cmd, *chain, *X264, "-r", str(FPS), str(path)], check=True, timeout=120)
        return path

    return Clip(name, frozenset(expect), make, "ffmpeg source")


def _gain(frame: np.ndarray, gain: float) -> np.ndarray:
    return np.clip(frame.astype(np.float32) * gain, 0, 255).astype(np.uint8)


def _shake(i: int, amount: int) -> tuple[int, int]:
    rng = np.random.default_rng(i)
    return tuple(int(v) for v in rng.integers(-amount, amount + 1, 2))


def _letterbox(frame: np.ndarray) -> np.ndarray:
    """A 2.39:1 film in a 16:9 frame: black bars over an eighth of the height at top and bottom."""
    bar = frame.shape[0] // 8
    out = frame.copy()
    out[:bar], out[-bar:] = 0, 0
    return out


def _frozen_index(i: int) -> int:
    return i if i < 25 else (25 if i < 90 else i - 65)  # frames 25-89 (2.6 s) repeat frame 25


def _black_out(frame: np.ndarray, i: int) -> np.ndarray:
    return np.zeros_like(frame) if 25 <= i < 50 else frame  # 1 s of black


def _size(w: int, h: int, src: str) -> str:
    return f"{src}=size={w}x{h}:rate={FPS}"


def clips() -> list[Clip]:
    """The labelled set."""
    blur = lambda sigma: lambda f: cv2.GaussianBlur(f, (0, 0), sigma)  # noqa: E731
    big = (640, 360)
    return [
        # well exposed drawn scenes: nothing to say (the interior is the film that was "too dark")
        _drawn("cartoon_day", set(), 3, lambda i: cartoon(i, "day")),
        _drawn("cartoon_interior", set(), 3, lambda i: cartoon(i, "interior")),
        _drawn("cartoon_night", set(), 3, lambda i: cartoon(i, "night")),
        _drawn("cartoon_interior_640", set(), 3, lambda i: cartoon(i, "interior", big), big),
        _drawn("cartoon_interior_letterbox", set(), 3, lambda i: _letterbox(cartoon(i, "interior"))),
        # under-exposed: the same scenes with a quarter or less of the light
        _drawn("cartoon_day_dark", {"TOO_DARK"}, 3, lambda i: _gain(cartoon(i, "day"), 0.25)),
        _drawn("cartoon_interior_dark", {"TOO_DARK"}, 3, lambda i: _gain(cartoon(i, "interior"), 0.35)),
        _drawn("cartoon_night_dark", {"TOO_DARK"}, 3, lambda i: _gain(cartoon(i, "night"), 0.3)),
        # soft focus
        _drawn("cartoon_day_blur", {"BLURRY"}, 3, lambda i: blur(2.5)(cartoon(i, "day"))),
        _drawn("cartoon_interior_blur_640", {"BLURRY"}, 3, lambda i: blur(5)(cartoon(i, "interior", big)), big),
        _drawn("cartoon_day_soft", set(), 3, lambda i: blur(0.6)(cartoon(i, "day"))),  # slight softening: fine
        # a camera that jumps from frame to frame, against a steady pan
        _drawn("cartoon_day_shake", {"SHAKY"}, 3, lambda i: cartoon(i, "day", offset=_shake(i, 8))),
        _drawn("cartoon_night_shake", {"SHAKY"}, 3, lambda i: cartoon(i, "night", offset=_shake(i, 6))),
        _drawn("cartoon_day_shake_mild", {"SHAKY"}, 3, lambda i: cartoon(i, "day", offset=_shake(i, 4))),
        _drawn("cartoon_day_pan", set(), 3, lambda i: cartoon(i, "day", offset=(i // 2 - 18, 0))),
        # a picture that stops (2.6 s) and one that goes black (1 s)
        _drawn("cartoon_day_frozen", {"FROZEN_FRAMES"}, 4, lambda i: cartoon(_frozen_index(i), "day")),
        _drawn("cartoon_night_black", {"BLACK_FRAMES"}, 3, lambda i: _black_out(cartoon(i, "night"), i)),
        # ffmpeg's test sources, as they are and filtered
        _lavfi("testsrc2", set(), _size(320, 180, "testsrc2")),
        _lavfi("mandelbrot", set(), _size(320, 180, "mandelbrot")),
        _lavfi("life", set(), _size(320, 180, "life") + ":mold=10:ratio=0.2:life_color=#e6c83c"),
        _lavfi(
            "gradients", set(), _size(320, 180, "gradients") + ":c0=0x2040a0:c1=0xe0c060:nb_colors=2:speed=0.05:seed=7"
        ),  # smooth, not blurred
        _lavfi("cellauto", set(), _size(320, 180, "cellauto") + ":rule=110:scroll=1"),
        _lavfi("smptebars_noise", set(), _size(320, 180, "smptebars"), "noise=alls=20:allf=t"),
        _lavfi("testsrc2_noise", set(), _size(320, 180, "testsrc2"), "noise=alls=25:allf=t"),
        _lavfi("testsrc2_dark", {"TOO_DARK"}, _size(320, 180, "testsrc2"), "colorlevels=romax=0.2:gomax=0.2:bomax=0.2"),
        _lavfi(
            "testsrc2_dark_noise",
            {"TOO_DARK"},
            _size(320, 180, "testsrc2"),
            "colorlevels=romax=0.25:gomax=0.25:bomax=0.25,noise=alls=12:allf=t",
        ),
        _lavfi("mandelbrot_noise", set(), _size(320, 180, "mandelbrot"), "noise=alls=20:allf=t"),
        _lavfi(
            "mandelbrot_dark", {"TOO_DARK"}, _size(320, 180, "mandelbrot"), "colorlevels=romax=0.2:gomax=0.2:bomax=0.2"
        ),
        _lavfi("testsrc2_blur", {"BLURRY"}, _size(640, 360, "testsrc2"), "gblur=sigma=6"),
        _lavfi("mandelbrot_blur", {"BLURRY"}, _size(320, 180, "mandelbrot"), "gblur=sigma=3"),
        _lavfi("mandelbrot_blur_grain", {"BLURRY"}, _size(320, 180, "mandelbrot"), "gblur=sigma=3,noise=alls=4:allf=t"),
        _lavfi(
            "testsrc2_shake",
            {"SHAKY"},
            _size(352, 212, "testsrc2"),
            "crop=320:180:x='16+14*(random(1)-0.5)':y='16+14*(random(2)-0.5)'",
        ),
        _lavfi("testsrc2_frozen", {"FROZEN_FRAMES"}, _size(320, 180, "testsrc2"), "loop=loop=65:size=1:start=25", 4),
        _lavfi(
            "testsrc2_black",
            {"BLACK_FRAMES"},
            _size(320, 180, "testsrc2"),
            "drawbox=c=black:t=fill:enable='between(t,1,2)'",
        ),
        _lavfi("smptebars_still", {"FROZEN_FRAMES"}, _size(320, 180, "smptebars"), "", 3),  # a still card is frozen
    ]


def analyse(path: Path) -> tuple[set[str], dict]:
    """The quality warning codes the report gives ``path`` (the real pass and the report's own
    code), and the measures behind them: the worst shot's dark share, highlights, detail, contrast
    and jitter, and the seconds of black and frozen picture."""
    meta = vision.probe(str(path), LIMITS)
    passed = vision.decode_pass(str(path), meta, LIMITS, stride=STRIDE)
    shots = shot_dicts(passed, meta.fps)
    codes = {w["code"] for w in quality_warnings(shots, passed)}
    values = {
        "shots": len(shots),
        "mean": min(s["brightness"] for s in shots),
        "median": min(s["median_brightness"] for s in shots),
        "dark": max(s["dark_share"] for s in shots),
        "p95": min(s["highlights"] for s in shots),
        "detail": min(s["detail"] for s in shots),
        "contrast": min(s["contrast"] for s in shots),
        "jitter": max(s["shake"] for s in shots),
        "black_s": sum(b - a for a, b in passed.black),
        "frozen_s": sum(b - a for a, b in passed.frozen),
    }
    return codes, values
