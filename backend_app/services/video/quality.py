"""Picture-quality warnings: which shots or stretches, and what was measured against which threshold.

Each warning carries ``measured {metric, value, threshold, unit}`` and says the same in its message,
so a reader can tell a dark picture from a dark-walled room. The thresholds were chosen on the
labelled clips of tests/warning_set.py (precision and recall per warning: bench/warnings_calibration.py,
docs/benchmarks.md); tests/services/test_warning_calibration.py fails when one regresses.
The per-frame levels (what a dark, black or frozen frame is) are the vision adapter's; they come
with its pass result (``passed.levels``), so this module (imported by chat, in the web process)
needs no OpenCV.
"""

from __future__ import annotations

from collections.abc import Callable

DARK_SHARE = 0.5  # a shot is too dark when more than this share of its analysed frames are dark
# Edge energy at full analysis size over that at half size under which a picture with contrast
# is blurred (sharp clips of the set: 0.84 and up; blurred ones, light grain included: 0.18-0.38).
BLUR_DETAIL, BLUR_MIN_CONTRAST = 0.5, 0.04
SHAKY_JITTER = 1.5  # mean change of the frame-to-frame shift, in analysis pixels, above which a shot is shaky


def is_blurry(detail: float, contrast: float) -> bool:
    """Soft for the detail in the picture (a plain wall has no edges to be sharp: contrast first)."""
    return contrast >= BLUR_MIN_CONTRAST and detail < BLUR_DETAIL


def _shot_list(shots: list[dict]) -> str:
    numbers = [str(s["index"] + 1) for s in shots[:8]]  # people count shots from 1; "shots" keeps the indices
    return ", ".join(numbers) + (" …" if len(shots) > 8 else "")


def _span_text(spans: list) -> str:
    return ", ".join(f"{a:.1f}-{b:.1f} s" for a, b in spans[:5]) + (" …" if len(spans) > 5 else "")


def _range(values: list[float], fmt: str) -> str:
    low, high = min(values), max(values)
    return fmt.format(low) if fmt.format(low) == fmt.format(high) else f"{fmt.format(low)}-{fmt.format(high)}"


def _length(shot: dict) -> float:
    return max(1e-6, shot["end_s"] - shot["start_s"])


def _dark(hit: list[dict], levels: dict) -> tuple[str, dict]:
    share = sum(s["dark_share"] * _length(s) for s in hit) / sum(_length(s) for s in hit)
    text = (
        f"in {share * 100:.0f} % of {'its' if len(hit) == 1 else 'their'} analysed frames even the brightest 5 % of the "
        f"picture was under {levels['dark_highlights']:.2f} brightness (threshold: more than {DARK_SHARE * 100:.0f} % of a shot's frames)"
    )
    return text, {"metric": "dark_frame_share", "value": round(share, 3), "threshold": DARK_SHARE, "unit": "share"}


def _blurry(hit: list[dict], levels: dict) -> tuple[str, dict]:
    text = (
        f"the edges at {levels['analysis_width']} px wide had {_range([s['detail'] for s in hit], '{:.2f}')} times the energy "
        f"they had at half that size (threshold {BLUR_DETAIL:g}; a sharp picture keeps about as much)"
    )
    value = round(max(s["detail"] for s in hit), 3)
    return text, {"metric": "detail", "value": value, "threshold": BLUR_DETAIL, "unit": "ratio"}


def _shaky(hit: list[dict], levels: dict) -> tuple[str, dict]:
    text = (
        f"the picture jumped {_range([s['shake'] for s in hit], '{:.1f}')} px per frame on average "
        f"(at {levels['analysis_width']} px wide; threshold {SHAKY_JITTER:g} px)"
    )
    value = round(min(s["shake"] for s in hit), 2)
    return text, {"metric": "shift_jitter", "value": value, "threshold": SHAKY_JITTER, "unit": "px_per_frame"}


SHOT_CHECKS: list[tuple[str, Callable[[dict], bool], str, Callable[[list[dict], dict], tuple[str, dict]]]] = [
    ("TOO_DARK", lambda s: s.get("dark_share", 0.0) > DARK_SHARE, "too dark", _dark),
    ("BLURRY", lambda s: s["blurry"], "blurry", _blurry),
    ("SHAKY", lambda s: s["shake"] > SHAKY_JITTER, "shaky", _shaky),
]


def _stretch(code: str, spans: list, words: str, how: str, min_s: float) -> dict:
    total = sum(b - a for a, b in spans)
    return {
        "code": code,
        "message": f"{words} at {_span_text(spans)} ({total:.1f} s in all): {how}, reported from {min_s:g} s.",
        "spans": [list(s) for s in spans],
        "measured": {"metric": "seconds", "value": round(total, 3), "threshold": min_s, "unit": "s"},
    }


def quality_warnings(shots: list[dict], passed) -> list[dict]:
    """Too dark, blurry, shaky, black frames, frozen frames: one warning per kind, with what was measured."""
    warnings, levels = [], passed.levels
    for code, test, words, measured in SHOT_CHECKS:
        hit = [s for s in shots if test(s)]
        if not hit:
            continue
        text, numbers = measured(hit, levels)
        one = len(hit) == 1
        warnings.append(
            {
                "code": code,
                "message": f"{'Shot' if one else 'Shots'} {_shot_list(hit)} {'is' if one else 'are'} {words}: {text}.",
                "shots": [s["index"] for s in hit],
                "measured": numbers,
            }
        )
    if passed.black:
        how = f"frames with brightness under {levels['black_brightness']:g} and contrast under {levels['black_contrast']:g}"
        warnings.append(_stretch("BLACK_FRAMES", passed.black, "Black frames", how, levels["black_min_s"]))
    if passed.frozen:
        how = (
            f"the picture changed by less than {levels['frozen_motion']:g} per frame and under "
            f"{levels['frozen_changed'] * 100:.1f} % of its pixels changed"
        )
        warnings.append(_stretch("FROZEN_FRAMES", passed.frozen, "Frozen picture", how, levels["frozen_min_s"]))
    return warnings
