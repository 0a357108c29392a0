"""Words for people: counts with the noun in the right number, lengths of time as clocks show them."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``1 shot``, ``3 shots``, ``0 shots``; ``plural`` for nouns that do not just add an s."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def duration(seconds: float | None) -> str:
    """``4.0 s``, ``0.04 s`` (a clip of a frame or two), ``2:05``, ``1:02:05``; ``—`` when unknown."""
    if seconds is None or seconds < 0:
        return "—"
    if seconds < 0.05:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
