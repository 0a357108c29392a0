"""Study material as files: flashcards as Anki-importable TSV and as CSV, the quiz as JSON and Markdown.

Cells a spreadsheet could read as a formula (=, +, -, @, tab, CR first) get a leading ``'``,
as the requirements export does; tabs and line breaks inside a TSV field become spaces (Anki
reads one note per line, fields split on tabs).
"""

from __future__ import annotations

import csv
import io
import json

from backend_app.errors import ValidationError
from backend_app.models.study import StudyMaterial
from backend_app.services.files import Download
from backend_app.services.requirements.export import spreadsheet_safe

FORMATS = {
    "flashcards": {"tsv": "text/tab-separated-values; charset=utf-8", "csv": "text/csv; charset=utf-8"},
    "quiz": {"json": "application/json", "md": "text/markdown; charset=utf-8"},
}


def _where(item: dict) -> str:
    doc = item.get("document_id")
    return f"page {item['page']}" + (f" of document {doc}" if doc else "")


def _one_line(value: str) -> str:
    return " ".join(str(value).split())


def flashcards_tsv(material: StudyMaterial) -> str:
    """Anki's text import: a header telling it the separator, then front, back and a page tag per line."""
    lines = ["#separator:tab", "#html:false", "#tags column:3"]
    for card in (material.data or {}).get("flashcards", []):
        front, back = (spreadsheet_safe(_one_line(card[k])) for k in ("question", "answer"))
        lines.append(f"{front}\t{back}\tpage_{card['page']}")
    return "\n".join(lines) + "\n"


def flashcards_csv(material: StudyMaterial) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["question", "answer", "page", "document_id"])
    for card in (material.data or {}).get("flashcards", []):
        document_id = card.get("document_id", material.document_id) or ""
        writer.writerow(
            [spreadsheet_safe(card["question"]), spreadsheet_safe(card["answer"]), card["page"], document_id]
        )
    return out.getvalue()


def quiz_json(material: StudyMaterial) -> str:
    quiz = (material.data or {}).get("quiz", [])
    return json.dumps({"material_id": material.id, "quiz": quiz}, ensure_ascii=False, indent=1)


def quiz_markdown(material: StudyMaterial) -> str:
    lines = ["# Quiz", ""]
    for number, q in enumerate((material.data or {}).get("quiz", []), start=1):
        lines.append(f"## {number}. {_one_line(q['question'])}")
        lines.append("")
        for option in q["options"]:
            mark = "x" if option == q["answer"] else " "
            lines.append(f"- [{mark}] {_one_line(option)}")
        lines.append("")
        lines.append(f"Answer: **{_one_line(q['answer'])}** ({_where(q)})")
        lines.append("")
    return "\n".join(lines)


RENDER = {
    ("flashcards", "tsv"): flashcards_tsv,
    ("flashcards", "csv"): flashcards_csv,
    ("quiz", "json"): quiz_json,
    ("quiz", "md"): quiz_markdown,
}


def render(material: StudyMaterial, part: str, fmt: str) -> Download:
    """``part`` (flashcards or quiz) in ``fmt``; EXPORT_FORMAT_INVALID for any other pair."""
    types = FORMATS.get(part, {})
    if fmt not in types:
        allowed = ", ".join(f"{p}.{f}" for p, fs in FORMATS.items() for f in fs)
        raise ValidationError(
            f"Study material exports are {allowed}.",
            code="EXPORT_FORMAT_INVALID",
            details={"fields": {"format": f"must be one of {allowed}"}},
        )
    name = f"{part}-{material.document_id or material.session_id}.{fmt}"
    return Download(RENDER[(part, fmt)](material), types[fmt], filename=name)
