#!/usr/bin/env python3
"""Precision and recall of each picture-quality warning on the labelled set: `.venv/bin/python bench/warnings_calibration.py`.

The set is tests/warning_set.py (drawn animated-looking scenes and ffmpeg test sources, each with
the warnings it must and must not raise); the clips are made into ``data/warning-set/`` (or
``--dir``) and analysed by the real decode pass at the default stride, then warned on by the
report's own code. ``--values`` also prints, per clip, the measures the thresholds cut
(dark-frame share, sharpness, shift jitter, black and frozen seconds), to see the margins.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import warning_set  # noqa: E402


def run(directory: Path) -> list[tuple[warning_set.Clip, set[str], dict]]:
    directory.mkdir(parents=True, exist_ok=True)
    results = []
    for clip in warning_set.clips():
        path = directory / f"{clip.name}.mp4"
        if not path.exists():
            path = clip.make(directory)
        codes, values = warning_set.analyse(path)
        results.append((clip, codes, values))
    return results


def scores(results) -> dict[str, tuple[int, int, int, int]]:
    """Per code: (true positives, false positives, false negatives, true negatives)."""
    table = {}
    for code in warning_set.CODES:
        tp = sum(1 for clip, got, _ in results if code in clip.expect and code in got)
        fp = sum(1 for clip, got, _ in results if code not in clip.expect and code in got)
        fn = sum(1 for clip, got, _ in results if code in clip.expect and code not in got)
        table[code] = (tp, fp, fn, len(results) - tp - fp - fn)
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=ROOT / "data" / "warning-set")
    parser.add_argument("--values", action="store_true", help="print each clip's measures")
    args = parser.parse_args()
    results = run(args.dir)
    if args.values:
        print(f"{'clip':30} {'expected':28} {'got':28} dark  p95   detail contr jitter black frozen")
        for clip, got, v in results:
            print(
                f"{clip.name:30} {','.join(sorted(clip.expect)) or '-':28} {','.join(sorted(got)) or '-':28} "
                f"{v['dark']:.2f}  {v['p95']:.2f}  {v['detail']:6.2f} {v['contrast']:.3f} {v['jitter']:5.2f} "
                f"{v['black_s']:4.1f}  {v['frozen_s']:4.1f}"
            )
        print()
    drawn = sum(1 for clip, _, _ in results if clip.kind == "drawn")
    print(
        f"{len(results)} labelled clips ({drawn} drawn, {len(results) - drawn} from ffmpeg sources), stride {warning_set.STRIDE}"
    )
    print("| warning | clips with it | precision | recall | false alarms | missed |")
    print("|---|---:|---:|---:|---:|---:|")
    for code, (tp, fp, fn, _tn) in scores(results).items():
        precision = f"{tp / (tp + fp):.2f}" if tp + fp else "–"
        recall = f"{tp / (tp + fn):.2f}" if tp + fn else "–"
        print(f"| {code} | {tp + fn} | {precision} | {recall} | {fp} | {fn} |")
    wrong = [(clip.name, sorted(clip.expect ^ got)) for clip, got, _ in results if clip.expect != got]
    for name, codes in wrong:
        print(f"  {name}: wrong on {', '.join(codes)}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
