"""Which generator makes a document's study material, and the key its result is cached under.

The openai provider is asked first when it is configured; when it gives nothing usable (an
invalid answer twice, a failed call, a spent budget, no grounded item) the offline generator
answers, and the material says why in ``fallback``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import current_app

from backend_app.services.study import llm, offline

VERSION = 1  # bump when the generators change what they make: cached material is then made again
Pages = list[tuple[int, str, list[str]]]


def provider() -> tuple[str, str | None]:
    """(provider, model) that would make material now."""
    settings = current_app.config["SETTINGS"]
    if settings.effective_ai_provider == "openai":
        return "openai", settings.openai_model
    return "offline", None


def cache_key(pages: Pages) -> str:
    """A hash of the pages' text and headings with the provider, its model and the generator's version."""
    name, model = provider()
    digest = hashlib.sha256()
    digest.update(json.dumps([VERSION, name, model or ""]).encode())
    for number, text, headings in pages:
        digest.update(json.dumps([number, text, list(headings or [])], ensure_ascii=False).encode())
    return digest.hexdigest()


def build(pages: Pages, *, user_id: str) -> dict[str, Any]:
    """``{material, provider, model, fallback, dropped}`` for the pages."""
    name, model = provider()
    if name == "openai":
        try:
            made = llm.generate(pages, user_id=user_id, model=model)
        except llm.StudyFailure as exc:
            fallback = {"code": exc.code, "message": exc.message}
        else:
            material = {k: made[k] for k in ("summary", "key_terms", "flashcards", "quiz")}
            return {"material": material, "provider": "openai", "model": made["model"], "fallback": None,
                    "dropped": made["dropped"]}  # fmt: skip
    else:
        fallback = None
    return {"material": offline.generate(pages), "provider": "offline", "model": None, "fallback": fallback,
            "dropped": 0}  # fmt: skip
