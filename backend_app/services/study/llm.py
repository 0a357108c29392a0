"""The model's study material: JSON checked against a schema, repaired once, then checked against the pages.

The answer must validate; an invalid one is sent back once with the validation error. After
that, or when the provider fails or the budget is spent, ``StudyFailure`` says why and the
caller builds the offline material instead. Every item of a valid answer must cite a page
that exists and whose text holds its answer (a quiz's answer must also be one of its
options); items that do not are dropped. Usage and budget are ``services.ai``'s.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema

from backend_app.services import ai
from backend_app.services.study.text import contains
from backend_app.services.usage import BudgetExceeded

PURPOSE = "study"
MAX_PROMPT_CHARS = 24_000  # the pages' text sent, at most: longer documents are cut per page

_ITEM = {"type": "string", "minLength": 1, "maxLength": 1000}
_PAGE = {"type": "integer", "minimum": 1}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["summary", "key_terms", "flashcards", "quiz"],
    "properties": {
        "summary": {"type": "string", "minLength": 1, "maxLength": 5000},
        "key_terms": {
            "type": "array",
            "maxItems": 60,
            "items": {
                "type": "object",
                "required": ["term", "definition", "page"],
                "properties": {"term": _ITEM, "definition": _ITEM, "page": _PAGE},
            },
        },
        "flashcards": {
            "type": "array",
            "maxItems": 100,
            "items": {
                "type": "object",
                "required": ["question", "answer", "page"],
                "properties": {"question": _ITEM, "answer": _ITEM, "page": _PAGE},
            },
        },
        "quiz": {
            "type": "array",
            "maxItems": 40,
            "items": {
                "type": "object",
                "required": ["question", "options", "answer", "page"],
                "properties": {
                    "question": _ITEM,
                    "options": {"type": "array", "minItems": 2, "maxItems": 6, "items": _ITEM},
                    "answer": _ITEM,
                    "page": _PAGE,
                },
            },
        },
    },
}


class StudyFailure(Exception):
    """The model gave no usable material; ``code`` says why (the offline path takes over)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@cache
def validator() -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    return jsonschema.Draft202012Validator(SCHEMA)


def messages(pages: list[tuple[int, str, list[str]]]) -> list[dict[str, str]]:
    per_page = max(500, MAX_PROMPT_CHARS // max(1, len(pages)))
    system = (
        "You write study material from a document's pages (English or German; answer in the document's "
        "language): a short summary, key terms with definitions, question/answer flashcards and a multiple-"
        "choice quiz. Every key term, flashcard and quiz question cites the number of the page it comes from, "
        "and that page's text must contain the answer word for word (for key terms: the term). A quiz's answer "
        "is one of its options. Answer with one JSON object only, matching this JSON Schema: " + json.dumps(SCHEMA)
    )
    doc = [{"page": n, "headings": list(h or []), "text": (t or "")[:per_page]} for n, t, h in pages]
    return [{"role": "system", "content": system}, {"role": "user", "content": json.dumps(doc, ensure_ascii=False)}]


def parse(raw: str) -> dict[str, Any]:
    """The schema-valid answer, or ValueError saying what is wrong with it."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at position {exc.pos}") from None
    error = jsonschema.exceptions.best_match(validator().iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise ValueError(f"schema violation at {where}: {error.message[:300]}")
    return data


def _valid(raw: str) -> bool:
    try:
        parse(raw)
    except ValueError:
        return False
    return True


def grounded(data: dict[str, Any], pages: list[tuple[int, str, list[str]]]) -> tuple[dict[str, Any], int]:
    """Only the items whose cited page exists and holds their answer; and how many were dropped."""
    text = {n: t or "" for n, t, _h in pages}

    def holds(page: int, answer: str) -> bool:
        return page in text and contains(text[page], answer)

    kept = {
        "summary": data["summary"].strip(),
        "key_terms": [k for k in data["key_terms"] if holds(k["page"], k["term"])],
        "flashcards": [c for c in data["flashcards"] if holds(c["page"], c["answer"])],
        "quiz": [q for q in data["quiz"] if q["answer"] in q["options"] and holds(q["page"], q["answer"])],
    }
    dropped = sum(len(data[k]) - len(kept[k]) for k in ("key_terms", "flashcards", "quiz"))
    return kept, dropped


def generate(pages: list[tuple[int, str, list[str]]], *, user_id: str, model: str | None = None) -> dict[str, Any]:
    """The model's material (grounded), with ``dropped`` and ``model``; ``StudyFailure`` when there is none."""
    msgs = messages(pages)
    problem = ""
    answer = None
    for _attempt in (1, 2):
        try:
            answer = ai.complete(msgs, user_id=user_id, purpose=PURPOSE, model=model, json_mode=True, valid=_valid)
        except BudgetExceeded as exc:
            raise StudyFailure("BUDGET_EXCEEDED", exc.message) from None
        except ai.AIProviderFailed as exc:
            raise StudyFailure(exc.code, exc.message) from None
        try:
            data = parse(answer.text)
            break
        except ValueError as exc:
            problem = str(exc)
            msgs = msgs + [
                {"role": "assistant", "content": answer.text[:4000]},
                {
                    "role": "user",
                    "content": f"That answer was invalid ({problem}). Answer again with one JSON object matching the schema.",
                },
            ]
    else:
        raise StudyFailure("AI_INVALID_OUTPUT", f"The model's answer was invalid twice: {problem}")
    kept, dropped = grounded(data, pages)
    if not (kept["key_terms"] or kept["flashcards"] or kept["quiz"]):
        raise StudyFailure("AI_UNGROUNDED", f"None of the model's {dropped} items cited a page holding its answer.")
    return {**kept, "dropped": dropped, "model": answer.model}
