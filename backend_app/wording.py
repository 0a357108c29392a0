"""Words for people: counts with the noun in the right number."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``1 shot``, ``3 shots``, ``0 shots``; ``plural`` for nouns that do not just add an s."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
