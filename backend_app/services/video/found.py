"""What the AI analysers found in a video (their report parts), counted for the summaries."""

from __future__ import annotations


def found_counts(found: dict) -> list[tuple[int, str, str]]:
    """(count, singular, plural) of what the AI analysers found, for those that found any."""
    counts = [
        (len(found.get("transcript") or []), "spoken segment", "spoken segments"),
        (len(found.get("texts") or []), "on-screen text", "on-screen texts"),
        (len(found.get("people") or []), "person", "people"),
    ]
    return [c for c in counts if c[0]]
