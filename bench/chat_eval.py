#!/usr/bin/env python3
"""Chat answer accuracy: the eval set (tests/eval/chat_questions.yaml) through the offline answer layer.

One command: `.venv/bin/python bench/chat_eval.py [-v]`. Makes the eval's clips with ffmpeg,
analyses them with the real pipeline (offline describer), stores the reports for two users and
three sessions in a migrated temp SQLite database, asks every question through the chat
service and prints accuracy per kind, leaks (citations outside the asking scope) and latency.
Targets (issue 22): >= 90 % exact on the factual kinds, 100 % "I can't tell" on the
unanswerable ones, 0 leaks. Exit status 1 when one is missed. ``-v`` prints every failure.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend_app import create_app  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="print every failed question and its answer")
    args = parser.parse_args()
    from tests.eval import runner, world

    world.reports()  # the pipeline runs before the clock starts
    with tempfile.TemporaryDirectory(prefix="fw-chat-eval-") as tmp:
        app = create_app(
            {"app_env": "test", "sqlite_path": str(Path(tmp) / "eval.db"), "data_dir": tmp, "log_level": "WARNING"}
        )
        with app.app_context():
            from flask_migrate import upgrade

            upgrade(directory=str(ROOT / "migrations"))
            outcomes = runner.run(world.populate())
    print(f"{'kind':14s} {'right':>6s} {'asked':>6s} {'share':>7s}")
    for kind, (passed, asked) in runner.accuracy(outcomes).items():
        print(f"{kind:14s} {passed:6d} {asked:6d} {passed / asked:7.1%}")
    factual = runner.factual_share(outcomes)
    unanswerable = [o for o in outcomes if o.kind == "unanswerable"]
    idk = sum(o.passed for o in unanswerable) / len(unanswerable)
    leaks = sum(o.leaks for o in outcomes)
    ms = [o.ms for o in outcomes]
    langs = {lang: sum(1 for o in outcomes if o.lang == lang) for lang in sorted({o.lang for o in outcomes})}
    print(f"questions: {len(outcomes)} {langs}; factual exact {factual:.1%} (target >= 90 %); ", end="")
    print(f"unanswerable said so {idk:.0%} (target 100 %); leaks {leaks} (target 0)")
    print(f"latency per question (service, SQLite): p50 {statistics.median(ms):.1f} ms, max {max(ms):.1f} ms")
    if args.verbose:
        for o in outcomes:
            if not o.passed:
                print(f"FAIL {o.id} [{o.kind}] {o.question!r}: {o.why}\n     -> {o.answer!r}")
    return 0 if factual >= 0.9 and idk == 1.0 and leaks == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
