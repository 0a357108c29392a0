"""Words for what the analysis measured: per-shot labels and descriptions, and a summary.

Two providers behind one function, ``describe``:

- ``offline`` (default): deterministic text built only from the measured signals. It says what
  was measured (brightness, motion, faces, QR payloads, colours) and nothing it cannot know.
- ``openai``: the keyframes go as base64 JPEG images to ``OPENAI_VISION_MODEL``
  (``describe_openai``, through services/ai.py: budget, Redis cache keyed by the content,
  retries with backoff, usage per user). The JSON answer is validated there; here it is laid
  over the offline text. When the provider fails or answers badly the report keeps the
  offline text and says so in ``ai.note`` and a warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from backend_app.errors import AppError
from backend_app.services import ai
from backend_app.services.video import describe_openai
from backend_app.services.video.found import found_counts
from backend_app.services.video.quality import DARK_SHARE

log = logging.getLogger(__name__)


@dataclass
class Descriptions:
    shots: dict[int, dict[str, Any]]  # index -> {"description", "labels"}
    summary: str
    ai: dict[str, Any]
    warnings: list[dict[str, str]] = field(default_factory=list)


def _level(value: float, steps: list[tuple[float, str]], default: str) -> str:
    for limit, word in steps:
        if value < limit:
            return word
    return default


BLACKISH = 0.1  # mean brightness under which a picture reads "dark" whatever its highlights


def signal_words(shot: dict) -> dict[str, str]:
    """Brightness and motion in words, from the measured 0-1 values."""
    if "dark_share" in shot:  # the measure TOO_DARK goes by (quality.py): dark walls and outlines are not a dark shot
        # a mostly black picture is dark to look at even with a bright spot in it (a QR code on black)
        dark = shot["dark_share"] > DARK_SHARE or shot["brightness"] < BLACKISH
        light = "dark" if dark else _level(shot["brightness"], [(0.4, "dim"), (0.7, "well-lit")], "bright")
    else:  # a report from before the measure
        light = _level(shot["brightness"], [(0.2, "dark"), (0.4, "dim"), (0.7, "well-lit")], "bright")
    return {
        "light": light,
        "motion": _level(shot["motion"], [(0.002, "static"), (0.01, "mostly static"), (0.03, "moving")], "fast-moving"),
    }


def offline_labels(shot: dict) -> list[str]:
    words = signal_words(shot)
    labels = [words["light"], words["motion"]]
    if shot.get("faces"):
        labels.append("face" if shot["faces"] == 1 else "faces")
    if shot.get("qr_texts"):
        labels.append("qr code")
    if shot.get("blurry"):
        labels.append("blurry")
    labels += [c["name"] for c in (shot.get("colors") or [])[:2]]
    return list(dict.fromkeys(labels))


MAX_SHOWN_TEXTS = 3


def texts_in(shot: dict, texts: list[dict]) -> list[str]:
    """The on-screen texts read during ``shot``, in the order they appeared, each once."""
    found = [
        str(t.get("text") or "").strip()
        for t in texts
        if isinstance(t, dict) and _num(t.get("start_s")) < shot["end_s"] and _num(t.get("end_s")) > shot["start_s"]
    ]
    return list(dict.fromkeys(t for t in found if t))


def _num(value) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def offline_description(shot: dict, texts: list[dict] | None = None) -> str:
    """E.g. "Dark, mostly static shot (2.0 s) with 1 face; mostly green and white; QR code reads '…'".
    Text on screen: “Quarterly Report”." (the texts the text analyser read during the shot)."""
    words = signal_words(shot)
    length = shot["end_s"] - shot["start_s"]
    text = f"{words['light'].capitalize()}, {words['motion']} shot ({length:.1f} s)"
    faces = shot.get("faces") or 0
    if faces:  # no "no face detected": in the chat index it made every shot match "faces"
        text += f" with {faces} face{'s' if faces != 1 else ''}"
    names = [c["name"] for c in (shot.get("colors") or [])[:2]]
    if names:
        text += "; mostly " + " and ".join(names)
    for payload in (shot.get("qr_texts") or [])[:3]:
        text += f"; QR code reads '{payload[:120]}'"
    if shot.get("blurry"):
        text += "; the picture is soft (low sharpness)"
    read = texts_in(shot, texts or [])
    if read:
        shown = ", ".join(f"“{t[:120]}”" for t in read[:MAX_SHOWN_TEXTS])
        text += f". Text on screen: {shown}" + (f" and {len(read) - MAX_SHOWN_TEXTS} more" if len(read) > 3 else "")
    return text + "."


def offline_summary(shots: list[dict], duration_s: float, found: dict | None = None) -> str:
    faces = sum(1 for s in shots if s.get("faces"))
    codes = sorted({t for s in shots for t in s.get("qr_texts") or []})
    text = (
        f"{len(shots)} shot{'s' if len(shots) != 1 else ''} in {duration_s:.1f} s"
        f"; faces seen in {faces} shot{'s' if faces != 1 else ''}"
    )
    if codes:
        text += "; QR codes: " + ", ".join(f"'{c[:80]}'" for c in codes[:5])
    for n, one, many in found_counts(found or {}):
        text += f"; {n} {one if n == 1 else many}"
    return text + ". Descriptions are built from measured signals (offline provider)."


def offline(
    shots: list[dict],
    duration_s: float,
    note: str = "descriptions built from measured signals",
    found: dict | None = None,
) -> Descriptions:
    """The offline words; ``found`` (the AI analysers' parts: transcript, texts, people) adds the
    on-screen text seen in each shot and the counts to the summary."""
    texts = (found or {}).get("texts") or []
    return Descriptions(
        shots={s["index"]: {"description": offline_description(s, texts), "labels": offline_labels(s)} for s in shots},
        summary=offline_summary(shots, duration_s, found),
        ai={"provider": "offline", "model": None, "ok": True, "note": note},
    )


def describe(
    shots: list[dict],
    duration_s: float,
    *,
    provider: str,
    user_id: str | None,
    keyframes: dict[int, bytes] | None = None,
    model: str | None = None,
    max_images: int = 6,
    found: dict | None = None,
) -> Descriptions:
    """Describe shots (dicts with the measured signals) with the given provider; ``found`` holds
    the AI analysers' parts (on-screen texts, transcript, people) the offline words mention."""
    base = offline(shots, duration_s, found=found)
    if provider != "openai":
        return base
    model = model or current_app.config["SETTINGS"].openai_vision_model
    return _with_vision_model(base, shots, keyframes or {}, user_id=user_id, model=model, max_images=max_images)


def _with_vision_model(
    base: Descriptions,
    shots: list[dict],
    keyframes: dict[int, bytes],
    *,
    user_id: str | None,
    model: str,
    max_images: int,
) -> Descriptions:
    """The vision model's words over the offline ones, for the shots it saw; the offline text
    stays wherever it did not answer."""
    chosen = describe_openai.pick(shots, keyframes, max_images)
    if not chosen:
        base.ai = {"provider": "openai", "model": model, "ok": False, "note": "no keyframes to describe"}
        return base
    if not ai.can_read_images():
        note = "the model cannot read images; offline descriptions from measured signals kept"
        base.ai = {"provider": "openai", "model": model, "ok": False, "note": note}
        base.warnings.append({"code": "AI_DESCRIPTION_UNAVAILABLE", "message": f"AI description skipped: {note}"})
        return base
    try:
        answer, result = describe_openai.ask(
            describe_openai.messages_for(chosen, keyframes), user_id=user_id, model=model
        )
    except Exception as exc:  # provider down, budget used up, malformed answers: keep the offline text
        note = f"AI description unavailable ({failure_note(exc)}); offline descriptions from measured signals kept"
        base.ai = {"provider": "openai", "model": model, "ok": False, "note": note}
        base.warnings.append({"code": "AI_DESCRIPTION_UNAVAILABLE", "message": note})
        return base
    wanted = {s["index"] for s in chosen}
    described = 0
    for item in answer["shots"]:
        if item["index"] in wanted and item["index"] in base.shots:
            offline_labels = base.shots[item["index"]]["labels"]
            labels = [str(x).strip().lower() for x in item.get("labels") or [] if str(x).strip()]
            base.shots[item["index"]] = {
                "description": item["description"].strip(),
                "labels": list(dict.fromkeys(labels + offline_labels)),
            }
            described += 1
    if answer.get("summary"):
        base.summary = answer["summary"].strip()
    base.ai = {
        "provider": "openai",
        "model": model,
        "ok": described > 0,
        "cached": result.cached,
        "note": f"{described} of {len(shots)} shots described by the vision model; the others from measured signals",
    }
    return base


def failure_note(exc: Exception) -> str:
    if isinstance(exc, AppError):
        return f"{exc.code}: {exc.message}"
    return str(exc)[:300]
