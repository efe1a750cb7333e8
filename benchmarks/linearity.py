#!/usr/bin/env python3
"""Is every stage linear in the size of a file? Time the parse, the value analysis and each
rule's ``detect`` on the large-file benchmark at two sizes (N and 2N copies of the module of
``make_large_file.py``) and flag what grows faster than the file.

    python benchmarks/linearity.py                 # 100 and 200 copies
    python benchmarks/linearity.py --copies 250    # 250 and 500

CPU seconds (``time.process_time``: less sensitive to a loaded machine than wall time), the
best of ``--repeat`` runs. A stage whose time grows by more than ``--limit`` (default 2.6)
when the file doubles is flagged: on a linear stage the ratio is about 2. Exit 1 if any is.
"""

from __future__ import annotations

import argparse
import ast
import gc
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_large_file import large_source  # noqa: E402


def stage_times(source: str, repeat: int) -> dict[str, float]:
    from gradfix.codemods._values import Analysis
    from gradfix.rule import all_rules

    best: dict[str, float] = {}

    def keep(name: str, seconds: float) -> None:
        best[name] = min(best.get(name, seconds), seconds)

    for _ in range(repeat):
        gc.disable()
        try:
            start = time.process_time()
            tree = ast.parse(source)
            keep("parse", time.process_time() - start)
            start = time.process_time()
            analysis = Analysis(tree, source, "large.py")
            keep("analysis", time.process_time() - start)
            for code, rule in sorted(all_rules().items()):
                start = time.process_time()
                if rule.quick_check is None or rule.quick_check(tree):
                    list(rule().detect(analysis))
                keep(code, time.process_time() - start)
            analysis.release()
        finally:
            gc.enable()
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=100, help="the smaller size (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--limit", type=float, default=2.6, help="flag a ratio above this (default: %(default)s)")
    args = parser.parse_args()
    small: dict[str, float] = {}
    large: dict[str, float] = {}
    for _ in range(args.repeat):  # interleaved, so a change of the machine's load hits both sizes
        for sizes, copies in ((small, args.copies), (large, 2 * args.copies)):
            for name, seconds in stage_times(large_source(copies), 1).items():
                sizes[name] = min(sizes.get(name, seconds), seconds)
    flagged = []
    print(f"{'stage':9} {args.copies:>7} {2 * args.copies:>7}  ratio")
    for name in small:
        ratio = large[name] / small[name] if small[name] > 0.005 else float("nan")
        mark = "  <- grows faster than the file" if ratio > args.limit else ""
        if mark:
            flagged.append(name)
        print(f"{name:9} {small[name]:7.2f} {large[name]:7.2f}  {ratio:5.2f}{mark}")
    print(f"total     {sum(small.values()):7.2f} {sum(large.values()):7.2f}")
    return 1 if flagged else 0


if __name__ == "__main__":
    raise SystemExit(main())
