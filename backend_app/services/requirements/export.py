"""A batch's results as CSV, JSON or a markdown table (no requirement text: it is not stored).

Rows carry the table's ``id`` and ``line`` so they join back to the submitted table; a
rewrite batch adds the rewritten sentence while Redis still holds it (PURGE_RETENTION_H).

CSV cells are made safe to open in a spreadsheet (OWASP "CSV injection"): a text cell that
starts with ``= + - @``, a tab or a carriage return gets a leading ``'``, so ``=HYPERLINK(...)``
shows as text instead of running as a formula. Numbers stay numbers: the scores are written as
numbers, and a text cell that is only a number (an id such as ``-12``) cannot be a formula.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from backend_app.errors import ValidationError
from backend_app.models import RequirementBatch
from backend_app.services.files import Download
from backend_app.services.requirements import batch as batches
from backend_app.services.requirements.markdown import render

FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json", "md": "text/markdown; charset=utf-8"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as written: text that could start a formula gets a ``'``."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _findings_cell(findings: list[dict]) -> str:
    return " ".join(f"{f['rule_id']}@{f['span'][0]}-{f['span'][1]}" for f in findings)


def table(batch: RequirementBatch) -> tuple[list[str], list[list[Any]]]:
    """Header and rows: accepted rows in order, then rejected rows."""
    keys = list(batch.criteria_keys)
    header = [
        "id",
        "line",
        "status",
        "overall",
        *keys,
        "findings",
        "variant",
        "engine",
        "fallback_code",
        "error_code",
        "text_sha256",
    ]
    rewrites = batches.rewrites(batch.id) if batch.mode == "rewrite" else {}
    if batch.mode == "rewrite":
        header.append("rewrite")
    rows = []
    for r in batches.results(batch):
        scores = r.scores or {}
        row = [
            r.row_key,
            r.line,
            r.status,
            r.overall,
            *[scores.get(k) for k in keys],
            _findings_cell(r.findings or []),
            r.variant,
            r.engine,
            r.fallback_code,
            r.error_code,
            r.text_sha256,
        ]
        if batch.mode == "rewrite":
            row.append(rewrites.get(r.row_index))
        rows.append(row)
    for rej in batch.rejected or []:
        row = [
            rej.get("row_id"),
            rej["line"],
            "rejected",
            None,
            *[None] * len(keys),
            "",
            None,
            None,
            None,
            rej["code"],
            None,
        ]
        rows.append(row + ([None] if batch.mode == "rewrite" else []))
    return header, rows


def as_json(batch: RequirementBatch) -> str:
    rewrites = batches.rewrites(batch.id) if batch.mode == "rewrite" else {}
    items = []
    for r in batches.results(batch):
        item = r.to_dict()
        if batch.mode == "rewrite":
            item["rewrite"] = rewrites.get(r.row_index)
        items.append(item)
    return json.dumps(
        {"batch": batch.to_dict(), "results": items, "rejected": batch.rejected or []}, ensure_ascii=False, indent=1
    )


def render_export(batch: RequirementBatch, fmt: str) -> Download:
    """The export in ``fmt`` (csv, json or md), named after the batch."""
    if fmt not in FORMATS:
        raise ValidationError(
            "format must be csv, json or md.",
            code="EXPORT_FORMAT_INVALID",
            details={"fields": {"format": "must be one of csv, json, md"}},
        )
    return Download(_rendered(batch, fmt), FORMATS[fmt], filename=f"requirements-{batch.id}.{fmt}")


def _rendered(batch: RequirementBatch, fmt: str) -> str:
    if fmt == "json":
        return as_json(batch)
    header, rows = table(batch)
    if fmt == "md":
        return render(header, rows)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return out.getvalue()
