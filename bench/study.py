#!/usr/bin/env python3
"""Offline study material for a generated 50-page document: how long it takes, and what it makes.

One command: `.venv/bin/python bench/study.py [--pages 50] [--runs 5]`. The pages are textbook
text made by tests/study_text.py (about 300 words each, two defined terms per page, every fifth
page German); the generator is services/study/offline.py, run in this process without the app
(it needs no database or model). Reports the median and worst of ``--runs`` runs and checks
that every item cites a page holding its answer. Target (issue 24): < 5 s for 50 pages.
Exit status 1 when the target is missed or an item is not grounded.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend_app.services.study import offline  # noqa: E402
from backend_app.services.study.text import contains  # noqa: E402
from tests.study_text import pages as textbook  # noqa: E402

TARGET_S = 5.0


def ungrounded(material: dict, pages: list) -> int:
    text = {n: t for n, t, _h in pages}
    bad = sum(not contains(text.get(k["page"], ""), k["term"]) for k in material["key_terms"])
    bad += sum(not contains(text.get(c["page"], ""), c["answer"]) for c in material["flashcards"])
    return bad + sum(not contains(text.get(q["page"], ""), q["answer"]) for q in material["quiz"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    pages, _defined = textbook(args.pages, german_every=5)
    words = sum(len(t.split()) for _n, t, _h in pages)
    times, material = [], {}
    for _ in range(args.runs):
        started = time.perf_counter()
        material = offline.generate(pages)
        times.append(time.perf_counter() - started)
    median, worst = statistics.median(times), max(times)
    bad = ungrounded(material, pages)
    print(f"pages: {args.pages} ({words} words), runs: {args.runs}")
    print(f"offline study material: median {median:.3f} s, worst {worst:.3f} s (target < {TARGET_S:.0f} s)")
    print(
        f"made: summary {len(material['summary'].split())} words, {len(material['key_terms'])} key terms, "
        f"{len(material['flashcards'])} flashcards, {len(material['quiz'])} quiz questions; "
        f"items not grounded in their page: {bad}"
    )
    ok = worst < TARGET_S and bad == 0
    print("verdict:", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
