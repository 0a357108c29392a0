"""Picture-quality warnings: which shots or stretches, and what was measured against which threshold.

Each warning carries ``measured {metric, value, threshold, unit}`` and says the same in its message,
so a reader can tell a dark picture from a dark-walled room. The thresholds were chosen on the
labelled clips of tests/warning_set.py (precision and recall per warning: bench/warnings_calibration.py,
docs/benchmarks.md); tests/services/test_warning_calibration.py fails when one regresses.
The per-frame levels (what a dark, black or frozen frame is) are the vision adapter's; they come
with its pass result (``passed.levels``), so this module (imported by chat, in the web process)
needs no OpenCV.

A still stretch where the text analyser read text is a slide, not a fault: it is said as a fact
(``SLIDES``, in the report's ``facts``) instead of FROZEN_FRAMES, and a shot that is such a slide
is not TOO_DARK either (white text on navy was read, so the picture is legible). A still picture
with no text read keeps its warnings.
"""

from __future__ import annotations

from collections.abc import Callable

DARK_SHARE = 0.5  # a shot is too dark when more than this share of its analysed frames are dark
# Edge energy at full analysis size over that at half size under which a picture with contrast
# is blurred (sharp clips of the set: 0.84 and up; blurred ones, light grain included: 0.18-0.38).
BLUR_DETAIL, BLUR_MIN_CONTRAST = 0.5, 0.04
SLIDE_SHARE = 0.5  # a shot is a slide when more than this share of it is still with text read on it
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


def _overlap(a: float, b: float, spans) -> float:
    return sum(max(0.0, min(b, y) - max(a, x)) for x, y in spans)


def slide_spans(frozen: list, texts: list[dict] | None) -> tuple[list, list]:
    """(still stretches with text read on them, the other still stretches)."""
    read = [(float(t["start_s"]), float(t["end_s"])) for t in texts or [] if isinstance(t, dict) and "start_s" in t]
    slides, still = [], []
    for a, b in frozen:
        (slides if any(x < b and y > a for x, y in read) or any(a <= x <= b for x, _ in read) else still).append((a, b))
    return slides, still


def slide_shots(shots: list[dict], slides: list) -> set[int]:
    """The shots that are mostly a slide (still, with text read)."""
    return {s["index"] for s in shots if _overlap(s["start_s"], s["end_s"], slides) > SLIDE_SHARE * _length(s)}


def slide_facts(passed, texts: list[dict] | None) -> list[dict]:
    """``SLIDES``: where the picture holds still with text on it, said as a fact."""
    slides, _ = slide_spans(passed.frozen, texts)
    if not slides:
        return []
    total = sum(b - a for a, b in slides)
    return [
        {
            "code": "SLIDES",
            "message": f"Still picture with text (slides) at {_span_text(slides)} ({total:.1f} s in all).",
            "spans": [list(s) for s in slides],
        }
    ]


def quality_warnings(shots: list[dict], passed, texts: list[dict] | None = None) -> list[dict]:
    """Too dark, blurry, shaky, black frames, frozen frames: one warning per kind, with what was
    measured; still stretches with text read on them (``texts``) are slides, not faults."""
    warnings, levels = [], passed.levels
    slides, still = slide_spans(passed.frozen, texts)
    legible = slide_shots(shots, slides)
    for code, test, words, measured in SHOT_CHECKS:
        hit = [s for s in shots if test(s) and not (code == "TOO_DARK" and s["index"] in legible)]
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
    if still:
        how = (
            f"the picture changed by less than {levels['frozen_motion']:g} per frame and under "
            f"{levels['frozen_changed'] * 100:.1f} % of its pixels changed"
        )
        warnings.append(_stretch("FROZEN_FRAMES", still, "Frozen picture", how, levels["frozen_min_s"]))
    return warnings
