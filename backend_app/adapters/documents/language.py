"""The language of a page's text (langdetect, seeded so the same text always gets the same answer).

Short texts are guessed badly, so a page with fewer than ``MIN_WORDS`` words is "unknown".
A page is judged on its first ``SAMPLE_CHARS`` characters with ``TRIALS`` random trials instead of
langdetect's 7 (under a third of the time: it was 40% of a text page's extraction; a page of
prose is decided well within them, and the tests hold English and German apart with it). langdetect loads its 55 language profiles on the first call in a process
(~1 s), i.e. once per extraction job in a worker's horse.
"""

from __future__ import annotations

import threading

from langdetect import DetectorFactory, detector_factory
from langdetect.lang_detect_exception import LangDetectException

MIN_WORDS = 8
MIN_PROBABILITY = 0.7
UNKNOWN = "unknown"
SAMPLE_CHARS = 800
TRIALS = 2
_lock = threading.Lock()
DetectorFactory.seed = 0


def detect(text: str) -> str:
    """An ISO 639-1 code ("en", "de", …), or "unknown" for short or undecidable text."""
    if len(text.split()) < MIN_WORDS:
        return UNKNOWN
    try:
        with _lock:  # the seed is global state: one detection at a time keeps answers repeatable
            detector_factory.init_factory()
            detector = detector_factory._factory.create()
            detector.n_trial = TRIALS
            detector.set_max_text_length(SAMPLE_CHARS)
            detector.append(text)
            guesses = detector.get_probabilities()
    except LangDetectException:
        return UNKNOWN
    best = guesses[0] if guesses else None
    return best.lang if best is not None and best.prob >= MIN_PROBABILITY else UNKNOWN
