"""The ``openai`` description provider: keyframes to a vision model, its JSON answer validated.

What to show the model (``pick``, ``messages_for``) and one validated answer (``ask``);
``describe.describe`` lays the answer over the offline text.
"""

from __future__ import annotations

import base64
import json
import logging
import time

import jsonschema

from backend_app.services import ai

log = logging.getLogger(__name__)
PURPOSE = "video_description"
INSTRUCTIONS = (
    "You describe shots of a video for a searchable report. For each keyframe image you get its shot "
    'index and the signals measured on it. Answer JSON only: {"summary": str, "shots": [{"index": int, '
    '"description": str (one or two plain sentences about what is visible), "labels": [str] '
    "(up to 8 short lower-case nouns)}]}. Describe only what is visible; do not guess names or places."
)
ANSWER_ATTEMPTS = 2  # a malformed answer is asked again once (transport errors retry inside ai.complete)
ANSWER_SCHEMA = {
    "type": "object",
    "required": ["shots"],
    "properties": {
        "summary": {"type": "string", "maxLength": 2000},
        "shots": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["index", "description"],
                "properties": {
                    "index": {"type": "integer"},
                    "description": {"type": "string", "maxLength": 1000},
                    "labels": {"type": "array", "items": {"type": "string", "maxLength": 60}, "maxItems": 12},
                },
            },
        },
    },
}


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


def image_part(jpeg: bytes) -> dict:
    return {
        "type": "image_url",
        "image_url": {"url": "data:image/jpeg;base64," + base64.b64encode(jpeg).decode(), "detail": "low"},
    }


def validate_answer(text: str) -> dict:
    """Parse and check the model's JSON; raises ValueError with the reason."""
    try:
        data = json.loads(text)
        jsonschema.validate(data, ANSWER_SCHEMA)
    except (json.JSONDecodeError, jsonschema.ValidationError) as exc:
        raise ValueError(f"invalid answer: {str(exc).splitlines()[0][:200]}") from None
    return data


def _valid(text: str) -> bool:
    try:
        validate_answer(text)
    except ValueError:
        return False
    return True


def ask(messages: list[dict], *, user_id: str | None, model: str) -> tuple[dict, ai.LLMResult]:
    """One validated answer; a malformed one is asked again (uncached) with a short backoff."""
    error: Exception | None = None
    for attempt in range(ANSWER_ATTEMPTS):
        result = ai.complete(
            messages,
            user_id=user_id,
            purpose=PURPOSE,
            model=model,
            json_mode=True,
            use_cache=attempt == 0,
            valid=_valid,
        )
        try:
            return validate_answer(result.text), result
        except ValueError as exc:
            error = exc
            log.warning("vision model answer rejected", extra={"attempt": attempt + 1, "error": str(exc)})
            time.sleep(0.2 * (attempt + 1))
    raise error  # type: ignore[misc]
