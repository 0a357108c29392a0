"""From lines read in single frames to the report's on-screen texts: noise dropped, the same text
seen in nearby frames merged into one item with its first and last time, and the CPU budget paced
over the video so a long one is sampled thinner, not cut off halfway."""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass

MERGE_GAP_S = 3.0  # the same text seen again within this long after its last sighting is the same item
SIMILAR = 0.85  # two readings this alike (difflib ratio) are one text read twice with an OCR slip
DEFAULT_COST_S = 0.5  # CPU seconds per frame assumed until frames have been measured


@dataclass
class Seen:
    """One line of text read in one frame, with the time span that frame stands for."""

    start_s: float
    end_s: float
    text: str
    box: tuple[int, int, int, int]
    score: float


def worth_keeping(text: str) -> bool:
    """Not a stray glyph: at least two letters or digits."""
    return sum(ch.isalnum() for ch in text) >= 2


def key(text: str) -> str:
    """What two readings of one text share: case, spacing and edge punctuation aside."""
    folded = unicodedata.normalize("NFC", text).casefold()
    return re.sub(r"\s+", " ", folded).strip(" .,;:-_|'\"`")


def similar(a: str, b: str) -> bool:
    ka, kb = key(a), key(b)
    if ka == kb:
        return True
    if min(len(ka), len(kb)) < 5:  # short words differ by a letter and mean something else
        return False
    return difflib.SequenceMatcher(None, ka, kb).ratio() >= SIMILAR


def merge(seen: list[Seen], gap_s: float = MERGE_GAP_S) -> list[dict]:
    """Items ``{start_s, end_s, text, box, frames}`` in order of appearance; each keeps its best
    reading's words and box, and counts the frames it was read in."""
    items: list[dict] = []
    best: list[float] = []
    for line in sorted(seen, key=lambda s: (s.start_s, s.box[1], s.box[0])):
        at = next(
            (
                i
                for i in range(len(items) - 1, -1, -1)
                if items[i]["end_s"] >= line.start_s - gap_s and similar(items[i]["text"], line.text)
            ),
            None,
        )
        if at is None:
            items.append(
                {"start_s": line.start_s, "end_s": line.end_s, "text": line.text, "box": list(line.box), "frames": 1}
            )
            best.append(line.score)
            continue
        item = items[at]
        item["start_s"], item["end_s"] = min(item["start_s"], line.start_s), max(item["end_s"], line.end_s)
        item["frames"] += 1
        if line.score > best[at]:
            item["text"], item["box"], best[at] = line.text, list(line.box), line.score
    for item in items:
        item["start_s"], item["end_s"] = round(item["start_s"], 3), round(item["end_s"], 3)
    return items


class Budget:
    """Admits frames so the CPU spent stays within ``budget_s``, spread over the video's length.

    A frame at ``t`` is admitted while what has been spent plus what waits (at the measured cost
    per frame) stays within the share of the budget for the video up to ``t`` (plus a little slack),
    so frames are dropped evenly when the video has more still moments than the budget pays for.
    """

    def __init__(self, budget_s: float, duration_s: float):
        self.budget_s = budget_s
        self.duration_s = max(duration_s, 1e-3)
        self.slack_s = max(5.0, 0.1 * self.duration_s)  # the start of a video may use a little more
        self.spent_s = 0.0
        self.measured = 0
        self.waiting = 0
        self.admitted = 0
        self.skipped = 0

    @property
    def cost_s(self) -> float:
        return self.spent_s / self.measured if self.measured else DEFAULT_COST_S

    def admit(self, t: float, share: float = 1.0) -> bool:
        """Whether to read a frame the pass has reached at ``t``; ``share``: of the budget so far
        that this kind of frame may use (still moments leave room for the keyframes to come)."""
        allowed = share * self.budget_s * min(1.0, (t + self.slack_s) / self.duration_s)
        if self.spent_s + (self.waiting + 1) * self.cost_s > allowed:
            self.skipped += 1
            return False
        self.waiting += 1
        self.admitted += 1
        return True

    def on_pace(self, t: float, share: float = 1.0) -> bool:
        """Whether one more frame may be read now that the pass is at ``t``: what is spent plus one
        frame stays within ``share`` of the budget for the video up to ``t`` (plus the slack)."""
        if not self.measured:  # the first look is free (base.on_pace): it measures the cost
            return True
        allowed = share * self.budget_s * min(1.0, (t + self.slack_s) / self.duration_s)
        return self.spent_s + self.cost_s <= allowed

    def spend(self, cost_s: float) -> None:
        """A frame was read for ``cost_s`` CPU seconds."""
        self.spent_s += cost_s
        self.measured += 1

    def exhausted(self) -> bool:
        """Whether one more frame would run past the whole budget (checked before reading one)."""
        return bool(self.measured) and self.spent_s + self.cost_s > self.budget_s

    def done(self, cost_s: float | None) -> None:
        """A frame admitted earlier was read (its CPU seconds) or dropped after all (None)."""
        self.waiting -= 1
        if cost_s is None:
            self.skipped += 1
            return
        self.spent_s += cost_s
        self.measured += 1
