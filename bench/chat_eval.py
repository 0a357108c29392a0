#!/usr/bin/env python3
"""Chat answer accuracy: the eval set (tests/eval/chat_questions.yaml) through the offline answer layer.

One command: `.venv/bin/python bench/chat_eval.py [-v]`. Makes the eval's clips with ffmpeg,
analyses them with the real pipeline (offline describer), stores the reports for two users and
three sessions in a migrated temp SQLite database, asks every question through the chat
service and prints accuracy per kind, leaks (citations outside the asking scope) and latency.
Targets (issue 22): >= 90 % exact on the factual kinds, 100 % "I can't tell" on the
unanswerable ones, 0 leaks. Exit status 1 when one is missed. ``-v`` prints every failure.

``--provider openai`` runs the set a second time through the openai path (mode "ai": every
question goes to the model, with tools) and prints its accuracy per kind next to the offline
run. The model is, by default, tests/eval/scripted_model.py behind the scripted protocol server
(tests/fake_openai.py): a fixed policy, a test double of a tool-calling model, not a model; it
checks the tool plumbing, scope and citations. ``--real`` uses the real llama.cpp server with
SmolLM2-135M (tests/llm_server.py; the model wheels installed) instead, ``--base-url`` any
OpenAI-compatible endpoint (``--model``, OPENAI_API_KEY). Only the offline run sets the exit status.
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
    parser.add_argument("--provider", choices=("offline", "openai"), default="offline")
    parser.add_argument("--real", action="store_true", help="openai: the real llama.cpp server (SmolLM2-135M)")
    parser.add_argument("--base-url", default="", help="openai: this endpoint instead of the scripted server")
    parser.add_argument("--model", default="gpt-4o-mini", help="openai: the model name for --base-url")
    parser.add_argument("--deadline-s", type=float, default=60.0, help="openai: LLM_DEADLINE_S per question")
    parser.add_argument("--every", type=int, default=1, help="openai: ask every n-th question only (a slow model)")
    parser.add_argument("--no-tools", action="store_true", help="openai: CHAT_TOOLS=false (the facts in the prompt)")
    args = parser.parse_args()
    from tests.eval import runner, world

    world.reports()  # the pipeline runs before the clock starts
    outcomes = _run({})
    ai_outcomes, label = None, ""
    if args.provider == "openai":
        ai_outcomes, label = _openai_run(args)
    ai_table = runner.accuracy(ai_outcomes) if ai_outcomes else {}
    head = f"{'kind':14s} {'right':>6s} {'asked':>6s} {'share':>7s}"
    print(head + (f"   openai ({label}): {'right':>6s} {'asked':>6s} {'share':>7s}" if ai_outcomes else ""))
    for kind, (passed, asked) in runner.accuracy(outcomes).items():
        line = f"{kind:14s} {passed:6d} {asked:6d} {passed / asked:7.1%}"
        if kind in ai_table:
            ai_passed, ai_asked = ai_table[kind]
            line += f"   {'':>{len(label) + 10}s} {ai_passed:6d} {ai_asked:6d} {ai_passed / ai_asked:7.1%}"
        print(line)
    factual = runner.factual_share(outcomes)
    unanswerable = [o for o in outcomes if o.kind == "unanswerable"]
    idk = sum(o.passed for o in unanswerable) / len(unanswerable)
    leaks = sum(o.leaks for o in outcomes)
    ms = [o.ms for o in outcomes]
    langs = {lang: sum(1 for o in outcomes if o.lang == lang) for lang in sorted({o.lang for o in outcomes})}
    print(f"questions: {len(outcomes)} {langs}; factual exact {factual:.1%} (target >= 90 %); ", end="")
    print(f"unanswerable said so {idk:.0%} (target 100 %); leaks {leaks} (target 0)")
    print(f"latency per question (service, SQLite): p50 {statistics.median(ms):.1f} ms, max {max(ms):.1f} ms")
    if ai_outcomes:
        ai_ms = [o.ms for o in ai_outcomes]
        ai_idk = [o for o in ai_outcomes if o.kind == "unanswerable"]
        print(
            f"openai ({label}): factual exact {runner.factual_share(ai_outcomes):.1%}; unanswerable said so "
            f"{sum(o.passed for o in ai_idk) / len(ai_idk):.0%}; leaks {sum(o.leaks for o in ai_outcomes)}; "
            f"latency p50 {statistics.median(ai_ms):.1f} ms, max {max(ai_ms):.1f} ms"
        )
    if args.verbose:
        for name, run in (("offline", outcomes), ("openai", ai_outcomes or [])):
            for o in run:
                if not o.passed:
                    print(f"FAIL {name} {o.id} [{o.kind}] {o.question!r}: {o.why}\n     -> {o.answer!r}")
    return 0 if factual >= 0.9 and idk == 1.0 and leaks == 0 else 1


def _run(config: dict, mode: str = "offline", every: int = 1) -> list:
    """The eval set in a fresh migrated SQLite database with ``config`` over the test settings."""
    from tests.eval import runner, world

    with tempfile.TemporaryDirectory(prefix="fw-chat-eval-") as tmp:
        base = {"app_env": "test", "sqlite_path": str(Path(tmp) / "eval.db"), "data_dir": tmp, "log_level": "ERROR"}
        app = create_app(base | config)
        with app.app_context():
            from flask_migrate import upgrade

            from backend_app.adapters import llm_caps

            upgrade(directory=str(ROOT / "migrations"))
            llm_caps.forget()
            outcomes = runner.run(world.populate(), runner.load()[:: max(1, every)], mode=mode)
            if mode == "ai":
                _print_calls(outcomes)
            return outcomes


def _print_calls(outcomes: list) -> None:
    """What the model was made to do: calls (tool rounds included) by outcome, and tokens."""
    from sqlalchemy import func

    from backend_app.extensions import db
    from backend_app.models import UsageRecord

    rows = db.session.execute(
        db.select(UsageRecord.outcome, UsageRecord.cached, func.count(), func.sum(UsageRecord.prompt_tokens))
        .where(UsageRecord.purpose == "chat")
        .group_by(UsageRecord.outcome, UsageRecord.cached)
    ).all()
    calls = sum(r[2] for r in rows)
    detail = ", ".join(f"{r[0]}{' (cached)' if r[1] else ''} {r[2]}" for r in rows)
    cited = sum(1 for o in outcomes if "[" in o.answer)
    print(f"openai calls: {calls} for {len(outcomes)} questions ({calls / max(1, len(outcomes)):.1f} each): {detail}; ")
    print(f"  prompt tokens {sum(r[3] or 0 for r in rows)}; answers with a [n] citation: {cited}")


def _openai_run(args) -> tuple[list, str]:
    """The eval set through the openai path against the scripted, real or given endpoint."""
    import os
    from contextlib import ExitStack

    config = {"ai_provider": "openai", "llm_deadline_s": args.deadline_s, "monthly_budget_usd": 1000.0}
    config["chat_tools"] = not args.no_tools
    with ExitStack() as stack:
        if args.base_url:
            config |= {"openai_base_url": args.base_url, "openai_model": args.model}
            config["openai_api_key"] = os.environ.get("OPENAI_API_KEY", "not-set")
            label = args.model
        elif args.real:
            from tests import llm_server

            if reason := llm_server.unavailable():
                raise SystemExit(f"--real: {reason}")
            server = stack.enter_context(llm_server.RealModelServer())
            config |= {"openai_base_url": server.base_url, "openai_model": server.model, "openai_api_key": "local"}
            label = f"llama.cpp {server.model}"
        else:
            from tests.eval import scripted_model
            from tests.fake_openai import FakeOpenAI

            server = stack.enter_context(FakeOpenAI(scripted_model.respond))
            config |= {"openai_base_url": server.base_url, "openai_api_key": "scripted"}
            label = "scripted policy"
        if args.no_tools:
            label += ", CHAT_TOOLS=false"
        if args.every > 1:
            label += f", every {args.every}. question"
        return _run(config, mode="ai", every=args.every), label


if __name__ == "__main__":
    sys.exit(main())
