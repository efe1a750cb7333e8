#!/usr/bin/env python3
"""What the two stages before the value analysis cost, per rule, and which files pass them.

For every file of the corpus (or every ``--every``-th), in one process:

* the text stage (``engine._triggered``: each selected rule's ``may_match``, i.e. its strings,
  trigger and text check, with the string tests shared across rules as the engine shares
  them), timed as a whole and per rule;
* each rule's ``quick_check`` on the parsed files whose text passed that rule, timed per
  rule *without* the shared node index (``codemods._values.indexed(tree)`` is built before
  the clock starts: the index is the lead's to make faster, not the rules') and, unless
  ``--with-imports``, without the shared import tables (``_ast.imports_of``: the analysis's
  ``Imports``; ``_ast.import_aliases``), timed on their own.

``--dump FILE`` writes, per rule, the files that pass its text filters and those that pass its
quick check; ``--compare FILE`` checks the sets of this run against such a dump (exit status 1
on any difference). Make the dump before changing a filter, compare after: a filter made
cheaper must let exactly the same files through.

    python benchmarks/prefilter_stages.py                          # the whole corpus
    python benchmarks/prefilter_stages.py --every 10 --select GF110,GF109
    python benchmarks/prefilter_stages.py --dump /tmp/before.json
    python benchmarks/prefilter_stages.py --compare /tmp/before.json
    python benchmarks/prefilter_stages.py --quick-on-all --dump ... # quick checks on every parsed file
"""

from __future__ import annotations

import argparse
import ast
import collections
import gc
import json
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
    parser.add_argument("--dump", metavar="FILE", help="write the pass sets (JSON)")
    parser.add_argument("--compare", metavar="FILE", help="compare the pass sets with a --dump")
    parser.add_argument("--no-quick", action="store_true", help="time the text stage only")
    parser.add_argument("--with-imports", action="store_true",
                        help="leave the shared import tables (_ast.imports_of, import_aliases) to the first rule that asks")
    parser.add_argument("--quick-on-all", action="store_true",
                        help="also run every quick check on every parsed file (sets 'quick-all'; slower)")
    args = parser.parse_args()

    from gradfix.codemods._ast import import_aliases, imports_of
    from gradfix.codemods._values import indexed, release
    from gradfix.engine import _triggered
    from gradfix.rule import select_rules

    rules = select_rules(args.select.split(",") if args.select else None, None)
    names = corpus_files(args.corpus)[:: args.every]
    if not names:
        print(f"no .py files in {args.corpus} (build the corpus first, see benchmarks/README.md)", file=sys.stderr)
        return 2
    sources = []
    for name in names:
        with open(os.path.join(args.corpus, name), encoding="utf-8", errors="replace") as handle:
            sources.append(handle.read())
    megabytes = sum(map(len, sources)) / 1e6

    # The text stage as the engine runs it. Times are CPU seconds of this process
    # (`time.process_time`): other processes on a shared machine do not inflate them.
    clock = time.process_time
    start = clock()
    for source in sources:
        _triggered(rules, source)
    total_text = clock() - start

    # The same, per rule (each call's time goes to its rule; the first rule to ask for a
    # shared string group or a memoized helper of `_text` pays for it).
    text_seconds: collections.Counter = collections.Counter()
    passes: dict[str, dict[str, list[str]]] = {"text": collections.defaultdict(list),
                                               "quick": collections.defaultdict(list),
                                               "quick-all": collections.defaultdict(list)}
    triggered_of: list[list] = []
    for name, source in zip(names, sources):
        present: dict = {}
        triggered = []
        for rule in rules:
            start = clock()
            hit = rule.may_match(source, present)
            text_seconds[rule.code] += clock() - start
            if hit:
                triggered.append(rule)
                passes["text"][rule.code].append(name)
        triggered_of.append(triggered)
    print(f"{len(names)} files, {megabytes:.0f} MB; text stage {total_text:.2f} CPU s "
          f"(per rule, summed: {sum(text_seconds.values()):.2f} s)")

    quick_seconds: collections.Counter = collections.Counter()
    shared: collections.Counter = collections.Counter()
    parsed = 0
    if not args.no_quick:
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
        quick_rules = [rule for rule in rules if rule.quick_check is not None]
        for name, source, triggered in zip(names, sources, triggered_of):
            if not triggered and not args.quick_on_all:
                continue
            gc.disable()
            try:
                try:
                    tree = ast.parse(source)
                except (SyntaxError, ValueError, RecursionError):
                    continue
                parsed += 1
                indexed(tree)
                if not args.with_imports:  # the shared import tables, built once per tree
                    start = clock()
                    imports_of(tree)
                    shared["Imports"] += clock() - start
                    start = clock()
                    import_aliases(tree)
                    shared["import_aliases"] += clock() - start
                for rule in triggered:
                    if rule.quick_check is None:
                        passes["quick"][rule.code].append(name)
                        continue
                    start = clock()
                    hit = rule.quick_check(tree)
                    quick_seconds[rule.code] += clock() - start
                    if hit:
                        passes["quick"][rule.code].append(name)
                if args.quick_on_all:
                    for rule in quick_rules:
                        if rule.quick_check(tree):
                            passes["quick-all"][rule.code].append(name)
                release(tree)
                del tree
            finally:
                gc.enable()
        print(f"{parsed} files parsed; quick checks {sum(quick_seconds.values()):.2f} CPU s (index excluded"
              + (")" if args.with_imports else
                 "; built before them: " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in shared.items()) + ")"))

    print(f"{'rule':6} {'text s':>7} {'pass':>6} {'quick s':>8} {'pass':>6}")
    for rule in rules:
        code = rule.code
        print(f"{code:6} {text_seconds[code]:7.3f} {len(passes['text'][code]):6} "
              f"{quick_seconds[code]:8.3f} {len(passes['quick'][code]):6}")

    found = {stage: {rule.code: sorted(by_rule.get(rule.code, [])) for rule in rules}
             for stage, by_rule in passes.items()}
    if args.no_quick:
        del found["quick"], found["quick-all"]
    elif not args.quick_on_all:
        del found["quick-all"]
    if args.dump:
        with open(args.dump, "w") as handle:
            json.dump({"every": args.every, "sets": found}, handle, indent=0)
    if args.compare:
        with open(args.compare) as handle:
            before = json.load(handle)
        if before["every"] != args.every:
            print(f"--compare: the dump was made with --every {before['every']}", file=sys.stderr)
            return 2
        differences = 0
        for stage, by_rule in found.items():
            for code, now in by_rule.items():
                then = before["sets"].get(stage, {}).get(code)
                if then is None:
                    continue
                gained, lost = sorted(set(now) - set(then)), sorted(set(then) - set(now))
                if gained or lost:
                    differences += 1
                    print(f"DIFFERENT {stage} {code}: +{len(gained)} -{len(lost)}")
                    for path in gained[:5]:
                        print(f"  + {path}")
                    for path in lost[:5]:
                        print(f"  - {path}")
        compared = sum(1 for stage in found for code in found[stage] if code in before["sets"].get(stage, {}))
        print(f"compared {compared} pass sets with {args.compare}: "
              + ("identical" if not differences else f"{differences} differ"))
        return 1 if differences else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
