"""Findings highlighted in the requirement text: segments with the findings that cover them.

The text is never stored; the page highlights it from the same request's answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SEVERITY_ORDER = {"high": 3, "medium": 2, "low": 1}


@dataclass
class Segment:
    text: str
    findings: list[int] = field(default_factory=list)  # indexes into the findings list
    severity: str | None = None


def segments(text: str, findings: list[dict]) -> list[Segment]:
    """Split ``text`` at every finding boundary; overlapping findings share a segment."""
    spans = []
    for number, finding in enumerate(findings):
        span = finding.get("span") or ()
        if len(span) == 2 and 0 <= span[0] < span[1] <= len(text):
            spans.append((span[0], span[1], number))
    cuts = sorted({0, len(text), *(s for s, _, _ in spans), *(e for _, e, _ in spans)})
    out: list[Segment] = []
    for start, end in zip(cuts, cuts[1:]):
        covering = [n for s, e, n in spans if s <= start and end <= e]
        worst = max(
            (findings[n].get("severity", "low") for n in covering),
            key=lambda sev: SEVERITY_ORDER.get(sev, 0),
            default=None,
        )
        out.append(Segment(text[start:end], covering, worst))
    return out


def score_class(score: int | float | None) -> str:
    """The colour band of a 0-100 score."""
    if score is None:
        return ""
    if score >= 80:
        return "score-good"
    return "score-mid" if score >= 50 else "score-bad"
