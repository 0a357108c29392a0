#!/usr/bin/env python3
"""`make bench`: run every benchmark in bench/ (each `bench/<name>.py` is one command).

Each runs in its own process with this interpreter; its output streams through as it comes.
Pass names to run only some (`bench/run_all.py api uploads`). Exit status 1 when any
benchmark failed or missed its target.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def benchmarks(names: list[str]) -> list[Path]:
    found = sorted(p for p in HERE.glob("*.py") if p.name != Path(__file__).name and not p.name.startswith("_"))
    if names:
        found = [p for p in found if p.stem in names]
        missing = set(names) - {p.stem for p in found}
        if missing:
            raise SystemExit(f"no such benchmark: {', '.join(sorted(missing))}")
    return found


def main(argv: list[str] | None = None) -> int:
    results = []
    for script in benchmarks(sys.argv[1:] if argv is None else argv):
        print(f"\n=== bench/{script.name} ===", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        results.append((script.stem, code, time.monotonic() - started))
    print("\n=== summary ===")
    for name, code, seconds in results:
        print(f"{name:<24} {'ok' if code == 0 else f'FAILED (exit {code})':<18} {seconds:6.0f} s")
    return 0 if all(code == 0 for _n, code, _s in results) else 1


if __name__ == "__main__":
    sys.exit(main())
