"""The offline rewrite: a deterministic, rule-based improvement of one requirement.

It applies every finding's replacement (escape and open-ended clauses removed, vague terms
and missing values turned into placeholders such as ``<value> <unit>``, agents and units
asked for), turns German "in der Lage sein, … zu <Verb>" into the plain verb, splits a
sentence with several modal verbs into one sentence per requirement, and tidies spacing.
What it cannot fix by itself is listed in ``unresolved``.
"""

from __future__ import annotations

import re
from typing import Any

from backend_app.services.requirements import lexicon as lx
from backend_app.services.requirements.engine import findings_v1
from backend_app.services.requirements.rules import Span, modals, weak_modals

_DE_LAGE = re.compile(
    r"\b(in der Lage sein|fähig sein|imstande sein|im Stande sein),?\s+(.+?)\s+zu\s+(\w+)", re.IGNORECASE
)


def _apply(text: str, edits: list[tuple[Span, str]]) -> str:
    out, last = [], 0
    for (start, end), new in sorted(edits):
        out.append(text[last:start])
        out.append(new)
        last = end
    out.append(text[last:])
    return "".join(out)


def _choose_edits(findings: list[dict]) -> tuple[list[tuple[Span, str]], list[dict]]:
    """Non-overlapping replacements (the earlier, longer one wins) and what they change."""
    edits: list[tuple[Span, str]] = []
    changes = []
    for f in sorted(findings, key=lambda f: (f["span"][0], -f["span"][1])):
        if f.get("replacement") is None:
            continue
        span = (f["span"][0], f["span"][1])
        if any(span[0] < e and s < span[1] for (s, e), _ in edits):
            continue
        edits.append((span, f["replacement"]))
        changes.append({"rule_id": f["rule_id"], "span": list(span), "replacement": f["replacement"]})
    return edits, changes


_JOIN = re.compile(r",?\s*\b(?:and|or|und|oder|sowie|but|aber)\b\s*|[,;]\s*", re.IGNORECASE)
_DE_FRONT_MODAL = re.compile(
    r"^(muss|müssen|soll|sollen|darf|dürfen|wird|sollte|kann)\s+"
    r"((?:der|die|das|ein|eine|jede[rs]?)\s+\S+)",
    re.IGNORECASE,
)


def _split_compound(text: str, lang: str) -> str:
    """'S shall A and T shall B' -> 'S shall A. T shall B.'; 'S shall A and shall B' reuses S."""
    found = sorted(modals(text, lang) + weak_modals(text, lang))
    if len(found) < 2:
        return text
    first_subject = text[: found[0][0]].strip()
    sentences, clause_start = [], 0
    for i in range(1, len(found) + 1):
        if i == len(found):
            sentences.append(text[clause_start:].strip().rstrip("."))
            break
        modal_start, previous_end = found[i][0], found[i - 1][1]
        joins = list(_JOIN.finditer(text, previous_end, modal_start))
        if not joins:
            continue
        sentences.append(text[clause_start : joins[-1].start()].strip())
        subject = text[joins[-1].end() : modal_start].strip()
        if subject:
            clause_start = joins[-1].end()
        else:
            sentences.append(None)  # marker: the next clause reuses the first subject
            clause_start = modal_start
    out, reuse = [], False
    for piece in sentences:
        if piece is None:
            reuse = True
            continue
        if reuse and first_subject:
            if lang == "de":  # verb-second: the subject goes before the modal verb it kept
                verb, _, rest = piece.partition(" ")
                piece = f"{first_subject} {verb} {rest}".strip()
            else:
                piece = f"{first_subject} {piece}"
        reuse = False
        out.append(piece[:1].upper() + piece[1:])
    return ". ".join(out) + "."


_SAME_PLACEHOLDERS = re.compile(r"(<[^<>]+>)(?:,? (?:and|or|und|oder|sowie) \1)+")


def _tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r",\s*([.;])", r"\1", text)
    text = re.sub(r"([,.;])\1+", r"\1", text)
    text = re.sub(r"^[,;:\s]+", "", text)
    # Two vague words side by side become one placeholder: "properly and reliably" asks for one
    # criterion, not "<measurable criterion> and <measurable criterion>".
    text = _SAME_PLACEHOLDERS.sub(r"\1", text)
    if text and not text.endswith((".", "!", "?")):
        text += "."
    return text[:1].upper() + text[1:]


def rewrite_v1(text: str, lang: str, findings: list[dict] | None = None) -> dict[str, Any]:
    """The improved sentence, the edits made, and the rule ids left for a human to fix."""
    findings = findings if findings is not None else findings_v1(text, lang)
    edits, changes = _choose_edits(findings)
    new = _apply(text, edits)
    if lang == "de":
        new = _DE_LAGE.sub(lambda m: f"{m.group(2)} {m.group(3)}", new)
        new = _DE_FRONT_MODAL.sub(lambda m: f"{m.group(2)} {m.group(1).lower()}", _tidy(new))
    new = _split_compound(_tidy(new), lang)
    new = _tidy(new)
    fixed = {c["rule_id"] for c in changes} | {"R18"}
    unresolved = sorted(
        {f["rule_id"] for f in findings} - fixed - {"R10"}
        if lang == "de"
        else {f["rule_id"] for f in findings} - fixed,
        key=lambda r: int(r[1:]),
    )
    return {"rewrite": new, "changes": changes, "unresolved": unresolved}


PLACEHOLDER = re.compile(r"<[^<>]+>")


def placeholders(text: str) -> list[str]:
    """The placeholders a human still has to fill in, e.g. ['<value>', '<unit>']."""
    return PLACEHOLDER.findall(text)


__all__ = ["rewrite_v1", "placeholders", "lx"]
