"""The verifier's output: a short human report per file, or JSON with a ``verdict`` per file."""

from __future__ import annotations

import json
from collections import Counter

from gradfix.verify.api import FileVerdict, passed


def _diff(value: float | None) -> str:
    if value is None:
        return "not compared"
    return "0 (bitwise equal)" if value == 0 else "%.3g" % value


def _joined(items: list[str], shown: int = 4) -> str:
    text = "; ".join(items[:shown])
    return text + ("; ... (%d more)" % (len(items) - shown) if len(items) > shown else "")


def text_report(verdict: FileVerdict) -> str:
    """A few lines: verdict and why, what was broken, what is fixed, forward diff, leaves."""
    d = verdict.decision
    head = verdict.path if not verdict.new_path else "%s -> %s" % (verdict.path, verdict.new_path)
    lines = ["%s: %s: %s" % (head, d.verdict, d.reason)]
    if verdict.command:
        lines.append("  driven by: %s" % verdict.command)
    if verdict.fixed_codes:
        lines.append("  rewritten by: %s" % ", ".join(verdict.fixed_codes))
    changed = set(d.changed_leaves)
    fixed = [f for f in d.fixed if f.replace(": grad ", ": ", 1) not in changed]
    for label, items in (("broken", d.broken), ("fixed", fixed), ("still broken", d.still_broken),
                         ("regressed", d.regressed)):
        if items:
            lines.append("  %s: %s" % (label, _joined(items)))
    if d.compared_calls or d.max_abs_diff is not None:
        lines.append("  forward: largest difference %s over %d backward call(s) before the first state mutation"
                     % (_diff(d.max_abs_diff), d.compared_calls))
    if d.changed_leaves:
        lines.append("  leaves changed state: %s" % _joined(d.changed_leaves, 6))
    for item in d.notes[:6]:
        lines.append("  note: %s" % item)
    if d.advice:
        lines.append("  what to do: %s" % d.advice)
    return "\n".join(lines)


def summary_line(verdicts: list[FileVerdict]) -> str:
    rewrites = [v for v in verdicts if v.verdict != "unchanged"]
    if not rewrites:
        return "Nothing to verify: gradfix made no change."
    counts = Counter(v.verdict for v in rewrites)
    return "Verified %d of %d rewrite%s: %s." % (
        sum(1 for v in rewrites if passed(v)), len(rewrites), "s" if len(rewrites) != 1 else "",
        ", ".join("%d %s" % (n, k) for k, n in sorted(counts.items())))


def json_report(verdicts: list[FileVerdict]) -> str:
    return json.dumps({
        "files": [v.as_dict() for v in verdicts],
        "summary": dict(Counter(v.verdict for v in verdicts)),
    }, indent=2)
