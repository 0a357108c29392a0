"""BM25 over the tenant's own candidate documents (the SQLite ranking).

FTS5's built-in bm25() computes each term's document frequency over the whole table, which
costs time proportional to how common the word is across *all* users (40 ms and more for
"red" at 100,000 shots) and lets other tenants' documents shift your ranking. Here the
statistics come from the tenant's own scope only: N is the scope's document count, and df a
term's count among the candidates (every scope document containing a query term is a
candidate, so that is the scope's df). Title matches count double, as in the index query.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from backend_app.services.chat.query import fold

K1, B, TITLE_WEIGHT = 1.2, 0.75, 2.0


def stem(word: str) -> str:
    """A light English suffix stripper: enough to line up 'cars'/'car', 'driving'/'drive'."""
    w = fold(word)
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3 and not (suffix == "s" and w.endswith("ss")):
            w = w[: -len(suffix)] + repl
            break
    return w[:-1] if len(w) > 4 and w.endswith("e") else w


def bm25_scores(documents: Sequence[tuple[str, str]], terms: Sequence[str], scope_size: int) -> list[float]:
    """A score per (title, text) document, higher is better."""
    # Term frequency = words starting with the stem (" car" counts car, cars, cargo). Candidates
    # are already exact FTS matches; this only orders them, and str.count keeps it cheap.
    needles = [" " + s for s in dict.fromkeys(stem(t) for t in terms)]
    if not documents or not needles:
        return [0.0] * len(documents)
    size = len(needles)
    counts = []
    for title, body in documents:
        title, body = " " + fold(title), " " + fold(body)
        length = TITLE_WEIGHT * title.count(" ") + body.count(" ")
        counts.append(([TITLE_WEIGHT * title.count(n) + body.count(n) for n in needles], length))
    n = max(scope_size, len(documents))
    average = sum(length for _, length in counts) / len(counts)
    df = [sum(1 for tf, _ in counts if tf[i] > 0) for i in range(size)]
    idf = [math.log(1 + (n - d + 0.5) / (d + 0.5)) for d in df]
    scores = []
    for tf, length in counts:
        norm = K1 * (1 - B + B * length / average)
        scores.append(sum(idf[i] * tf[i] * (K1 + 1) / (tf[i] + norm) for i in range(size) if tf[i]))
    return scores
