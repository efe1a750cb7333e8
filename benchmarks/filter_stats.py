#!/usr/bin/env python3
"""How far each rule's filters let the corpus through, and what each stage costs.

For every file of the corpus (or every ``--every``-th), in one process: the text filters of
each selected rule (strings, trigger, text check), the parse, each rule's quick check, the
value analysis and each rule's ``detect``. Prints, per rule, the files that pass its text
filters and its quick check, and the seconds its quick check and its ``detect`` took; per stage, the total
seconds; and the slowest files. What reaches the parse and the analysis is what a cold
``gradfix check`` pays for, so keep those counts small.

    python benchmarks/filter_stats.py                      # the whole corpus (minutes)
    python benchmarks/filter_stats.py --every 10           # the 1-in-10 sample
    python benchmarks/filter_stats.py --select GF110,GF109 --show-passing 20
"""

from __future__ import annotations

import argparse
import ast
import collections
import gc
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus_roundtrip import corpus_files, default_corpus  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", default=default_corpus())
    parser.add_argument("--every", type=int, default=1, help="take every N-th file (default: all)")
    parser.add_argument("--select", default="", help="comma-separated rule codes (default: all)")
    parser.add_argument("--show-passing", type=int, default=0, metavar="N",
                        help="list N files whose quick check passed, per rule")
    parser.add_argument("--slowest", type=int, default=10, metavar="N")
    args = parser.parse_args()

    from gradfix.codemods._values import Analysis, indexed, release
    from gradfix.engine import _triggered
    from gradfix.rule import select_rules

    rules = select_rules(args.select.split(",") if args.select else None, None)
    files = [os.path.join(args.corpus, name) for name in corpus_files(args.corpus)[:: args.every]]
    if not files:
        print(f"no .py files in {args.corpus} (build the corpus first, see benchmarks/README.md)", file=sys.stderr)
        return 2
    text_pass, quick_pass, quick_seconds, detect_seconds, found = (collections.Counter() for _ in range(5))
    passing: dict[str, list[str]] = collections.defaultdict(list)
    stage = collections.Counter()
    parsed = analysed = 0
    slow = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as handle:
            source = handle.read()
        start = time.perf_counter()
        triggered = _triggered(rules, source)
        stage["text filters"] += time.perf_counter() - start
        text_pass.update(rule.code for rule in triggered)
        if not triggered:
            continue
        gc.disable()
        try:
            start = time.perf_counter()
            try:
                tree = ast.parse(source)
            except (SyntaxError, ValueError, RecursionError):
                continue
            spent = time.perf_counter() - start
            stage["parse"] += spent
            parsed += 1
            start = time.perf_counter()
            indexed(tree)  # shared by the quick checks and the analysis: its own stage
            stage["node index"] += time.perf_counter() - start
            passed = []
            for rule in triggered:
                start = time.perf_counter()
                if rule.quick_check is None or rule.quick_check(tree):
                    passed.append(rule)
                took = time.perf_counter() - start
                quick_seconds[rule.code] += took
                stage["quick checks"] += took
            quick_pass.update(rule.code for rule in passed)
            for rule in passed:
                if args.show_passing and len(passing[rule.code]) < args.show_passing:
                    passing[rule.code].append(os.path.relpath(path, args.corpus))
            if not passed:
                release(tree)
                continue
            start = time.perf_counter()
            analysis = Analysis(tree, source, path)
            spent = time.perf_counter() - start
            stage["analysis"] += spent
            analysed += 1
            for rule in passed:
                start = time.perf_counter()
                found[rule.code] += len(list(rule().detect(analysis)))
                took = time.perf_counter() - start
                detect_seconds[rule.code] += took
                spent += took
            analysis.release()
            slow.append((spent, os.path.relpath(path, args.corpus), [rule.code for rule in passed]))
        finally:
            gc.enable()
    stage["detect"] = sum(detect_seconds.values())
    print(f"{len(files)} files; {parsed} parsed ({parsed / len(files):.1%}); {analysed} analysed ({analysed / len(files):.1%})")
    print("seconds: " + ", ".join(f"{name} {seconds:.2f}" for name, seconds in stage.items()))
    print(f"{'rule':6} {'text':>6} {'quick':>6} {'quick s':>8} {'detect s':>9} {'found':>6}")
    for rule in rules:
        code = rule.code
        print(f"{code:6} {text_pass[code]:6} {quick_pass[code]:6} {quick_seconds[code]:8.2f} {detect_seconds[code]:9.2f} {found[code]:6}")
    for code, paths in sorted(passing.items()):
        print(f"\n{code}: quick check passed on")
        for path in paths:
            print(f"  {path}")
    if args.slowest:
        print("\nslowest (analysis + detect):")
        for spent, path, codes in sorted(slow, reverse=True)[: args.slowest]:
            print(f"  {spent:6.2f}s {path} {','.join(codes)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
