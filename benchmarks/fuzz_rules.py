"""Long property run of every rule: generated programs and mutated golden cases.

    python benchmarks/fuzz_rules.py --examples 10000 [--source generated|golden|both] [--seed N]

Checks, for each program, what ``tests/rule_properties.py`` states: no rule crashes,
every fix compiles, ``apply`` is idempotent, a source with no finding is unchanged. Unlike
the bounded test, a violation does not stop the run: each is counted, and the first ones
are written out (``--out``) as files to reproduce from. The last line is a summary:
programs run, how many had findings and rewrites, violations by kind, seconds.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402

import rule_properties  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000, help="programs to check per source kind")
    parser.add_argument("--source", choices=("generated", "golden", "both"), default="both")
    parser.add_argument("--generator", choices=("grammar", "node"), default="grammar",
                        help="hypothesmith's strategy for generated programs (node: slower)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="fuzz-violations", help="folder for the first violations found")
    parser.add_argument("--keep", type=int, default=20, help="violations to write out")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", SyntaxWarning)  # generated programs compare literals with `is`...

    kinds = {"generated": rule_properties.generated_programs(args.generator), "golden": rule_properties.mutated_golden()}
    chosen = list(kinds) if args.source == "both" else [args.source]
    exit_code = 0
    for name in chosen:
        stats = collections.Counter()
        violations: list[rule_properties.Violation] = []
        started = time.monotonic()

        @settings(max_examples=args.examples, deadline=None, database=None, derandomize=False,
                  suppress_health_check=list(HealthCheck), phases=["generate"])
        @given(source=kinds[name])
        def run(source: str) -> None:
            stats["programs"] += 1
            violation = rule_properties.check_properties(source, stats=stats)
            if violation is not None:
                stats["violation: " + violation.kind] += 1
                violations.append(violation)
            if stats["programs"] % 500 == 0:
                print("%s: %d programs, %.0fs" % (name, stats["programs"], time.monotonic() - started), flush=True)

        seed(args.seed)(run)()  # reproducible from --seed
        seconds = time.monotonic() - started
        if violations:
            exit_code = 1
            os.makedirs(args.out, exist_ok=True)
            for index, violation in enumerate(violations[: args.keep]):
                target = Path(args.out) / ("%s-%03d-%s.py" % (name, index, violation.kind))
                target.write_text("# %s\n%s" % (violation.detail.replace("\n", " "), violation.source), encoding="utf-8")
                print("%s: %s (%s)" % (target, violation.kind, violation.detail.splitlines()[0][:200]))
        summary = ", ".join("%s %d" % (key, stats[key]) for key in sorted(stats))
        print("%s: %s; %.0fs (%.1f programs/s)" % (name, summary, seconds, stats["programs"] / max(seconds, 1e-9)),
              flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
