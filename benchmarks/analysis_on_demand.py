#!/usr/bin/env python3
"""The value analysis on demand, on real code: is every answer the whole file's, and how much
of the file do the rules make it run?

For every corpus file (or every ``--every``-th) that some rule's quick check passes, in one
process: the rules' ``detect`` on an on-demand analysis (``Analysis(...)``, what the engine
builds), counting the scopes it ran; then, with ``--exact``, the whole file's fixed point
(``on_demand=False``) and every expression, call, function and class asked of both. Prints
the share of scopes (and of their lines) the rules needed, the seconds of each, and any
difference (exit 1 if there is one).

    python benchmarks/analysis_on_demand.py --every 5            # what the rules run
    python benchmarks/analysis_on_demand.py --every 3 --exact    # and is it exact (minutes)
"""

from __future__ import annotations

import argparse
import ast
import gc
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus_roundtrip import corpus_files, default_corpus  # noqa: E402


def _differences(tree: ast.Module, source: str, path: str) -> list[str]:
    from gradfix.codemods._values import Analysis, release

    whole = Analysis(tree, source, path, on_demand=False)
    nodes = list(ast.walk(tree))
    expected = {id(n): whole.value(n) for n in nodes}
    callees = {id(n): whole.callee(n) for n in nodes if isinstance(n, ast.Call)}
    functions = [n for n in nodes if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    returns = {id(f): (whole.returns(f), dict(whole.arguments(f)), [id(c) for c in whole.callers(f)]) for f in functions}
    attributes = {name: dict(whole.attributes_of(info)) for name, info in whole.classes.items()}
    release(tree)
    lazy = Analysis(tree, source, path)
    found = []
    for node in reversed(nodes):  # another order than the file's
        if lazy.value(node) != expected[id(node)]:
            found.append(f"{path}:{getattr(node, 'lineno', 0)}: {type(node).__name__}: {lazy.value(node)} != {expected[id(node)]}")
        if isinstance(node, ast.Call) and lazy.callee(node) is not callees[id(node)]:
            found.append(f"{path}:{node.lineno}: callee differs")
    for function in functions:
        if (lazy.returns(function), dict(lazy.arguments(function)), [id(c) for c in lazy.callers(function)]) != returns[id(function)]:
            found.append(f"{path}:{function.lineno}: summaries of {function.name} differ")
    for name, info in lazy.classes.items():
        if dict(lazy.attributes_of(info)) != attributes[name]:
            found.append(f"{path}: attributes of {name} differ")
    lazy.release()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", default=default_corpus())
    parser.add_argument("--every", type=int, default=1, help="take every N-th file (default: all)")
    parser.add_argument("--exact", action="store_true", help="also compare every answer with the whole file's")
    args = parser.parse_args()

    from gradfix.codemods._values import Analysis
    from gradfix.engine import _triggered
    from gradfix.rule import select_rules

    rules = select_rules(None, None)
    files = [os.path.join(args.corpus, name) for name in corpus_files(args.corpus)[:: args.every]]
    if not files:
        print(f"no .py files in {args.corpus} (build the corpus first, see benchmarks/README.md)", file=sys.stderr)
        return 2
    analysed = scopes = scopes_run = lines = lines_run = 0
    seconds = whole_seconds = 0.0
    differences: list[str] = []
    gc.disable()
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as handle:
            source = handle.read()
        triggered = _triggered(rules, source)
        if not triggered:
            continue
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            continue
        passing = [rule for rule in triggered if rule.quick_check is None or rule.quick_check(tree)]
        if not passing:
            continue
        analysed += 1
        start = time.process_time()
        analysis = Analysis(tree, source, path)
        for rule in passing:
            list(rule().detect(analysis))
        seconds += time.process_time() - start
        ran = {index for first in analysis._analysed for index in analysis._members[first]}
        for index, (scope, _) in enumerate(analysis._scopes):
            size = (scope.end_lineno - scope.lineno + 1) if index else len(tree.body)
            scopes, lines = scopes + 1, lines + size
            if index in ran:
                scopes_run, lines_run = scopes_run + 1, lines_run + size
        analysis.release()
        if args.exact:
            start = time.process_time()
            differences += _differences(tree, source, path)
            whole_seconds += time.process_time() - start
        gc.collect()
    print(f"files analysed: {analysed} of {len(files)}")
    print(f"scopes run: {scopes_run} of {scopes} ({scopes_run / max(scopes, 1):.1%}); their lines: {lines_run / max(lines, 1):.1%}")
    print(f"analysis + detect on demand: {seconds:.1f} CPU s")
    if args.exact:
        print(f"exactness check (both analyses, every answer): {whole_seconds:.1f} CPU s")
        for line in differences[:50]:
            print(line)
        print(f"differences: {len(differences)}")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
