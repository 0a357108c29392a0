"""The ``openai`` description provider: keyframes to a vision model, JSON answer validated.

Failures never fail the analysis: the offline text stays and the report says why.
"""

from __future__ import annotations

import logging
import time

from flask import current_app

from backend_app.services import ai
from backend_app.services.video.describe import Descriptions, failure_note, image_part, validate_answer

log = logging.getLogger(__name__)
INSTRUCTIONS = (
    "You describe shots of a video for a searchable report. For each keyframe image you get its shot "
    'index and the signals measured on it. Answer JSON only: {"summary": str, "shots": [{"index": int, '
    '"description": str (one or two plain sentences about what is visible), "labels": [str] '
    "(up to 8 short lower-case nouns)}]}. Describe only what is visible; do not guess names or places."
)
ANSWER_ATTEMPTS = 2  # a malformed answer is asked again once (transport errors retry inside ai.complete)


def pick(shots: list[dict], keyframes: dict[int, bytes], limit: int) -> list[dict]:
    """Up to ``limit`` shots with keyframes, spread evenly over the video."""
    usable = [s for s in shots if s["index"] in keyframes]
    if len(usable) <= limit:
        return usable
    step = len(usable) / limit
    return [usable[int(i * step)] for i in range(limit)]


def messages_for(chosen: list[dict], keyframes: dict[int, bytes]) -> list[dict]:
    content: list[dict] = [{"type": "text", "text": INSTRUCTIONS}]
    for shot in chosen:
        facts = (
            f"Shot {shot['index']}: {shot['start_s']:.1f}-{shot['end_s']:.1f} s, faces={shot.get('faces', 0)}, "
            f"qr={shot.get('qr_texts') or []}, colours={[c['name'] for c in shot.get('colors') or []]}"
        )
        content += [{"type": "text", "text": facts}, image_part(keyframes[shot["index"]])]
    return [{"role": "user", "content": content}]


def ask(messages: list[dict], *, user_id: str | None, model: str) -> tuple[dict, ai.LLMResult]:
    """One validated answer; a malformed one is asked again (uncached) with a short backoff."""
    error: Exception | None = None
    for attempt in range(ANSWER_ATTEMPTS):
        result = ai.complete(
            messages, user_id=user_id, purpose="video_description", model=model, json_mode=True, use_cache=attempt == 0
        )
        try:
            return validate_answer(result.text), result
        except ValueError as exc:
            error = exc
            log.warning("vision model answer rejected", extra={"attempt": attempt + 1, "error": str(exc)})
            time.sleep(0.2 * (attempt + 1))
    raise error  # type: ignore[misc]


def describe(
    base: Descriptions,
    shots: list[dict],
    keyframes: dict[int, bytes],
    *,
    user_id: str | None,
    model: str | None,
    max_images: int,
) -> Descriptions:
    model = model or current_app.config["SETTINGS"].openai_vision_model
    chosen = pick(shots, keyframes, max_images)
    if not chosen:
        base.ai = {"provider": "openai", "model": model, "ok": False, "note": "no keyframes to describe"}
        return base
    try:
        answer, result = ask(messages_for(chosen, keyframes), user_id=user_id, model=model)
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
