"""The language of a page's text (langdetect, seeded so the same text always gets the same answer).

Short texts are guessed badly, so a page with fewer than ``MIN_WORDS`` words is "unknown".
"""

from __future__ import annotations

import threading

from langdetect import DetectorFactory, detect_langs
from langdetect.lang_detect_exception import LangDetectException

MIN_WORDS = 8
MIN_PROBABILITY = 0.7
UNKNOWN = "unknown"
SAMPLE_CHARS = 4000  # enough to tell; a long page is not read twice over
_lock = threading.Lock()
DetectorFactory.seed = 0


def detect(text: str) -> str:
    """An ISO 639-1 code ("en", "de", …), or "unknown" for short or undecidable text."""
    if len(text.split()) < MIN_WORDS:
        return UNKNOWN
    try:
        with _lock:  # the seed is global state: one detection at a time keeps answers repeatable
            guesses = detect_langs(text[:SAMPLE_CHARS])
    except LangDetectException:
        return UNKNOWN
    best = guesses[0] if guesses else None
    return best.lang if best is not None and best.prob >= MIN_PROBABILITY else UNKNOWN
