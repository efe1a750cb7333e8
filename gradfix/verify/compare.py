"""The verifier's decision: two traces in, one verdict out. Pure functions, no torch.

The claim checked is DESIGN.md's: forward values are identical up to the first state
mutation, and gradients that were missing (None, all-zero, non-finite, or a raising
backward) are now present. Order of precedence when several things go wrong:
``unverifiable`` > ``forward-mismatch`` > ``regressed`` > ``still-broken`` >
``verified-allclose`` > ``verified``.

When the original had nothing broken, an equal forward still gives ``verified`` (the
report says "nothing was broken"). ``unchanged`` is used by the API, not here, when the
rewrite produced the same text: there is nothing to run.
"""

from __future__ import annotations

import math
import signal
from dataclasses import dataclass, field

from gradfix.verify.record import STATE_TEXT, Run, Trace, values

VERIFIED = "verified"
VERIFIED_ALLCLOSE = "verified-allclose"
FORWARD_MISMATCH = "forward-mismatch"
STILL_BROKEN = "still-broken"
REGRESSED = "regressed"
UNVERIFIABLE = "unverifiable"
UNCHANGED = "unchanged"
PASSING = (VERIFIED, VERIFIED_ALLCLOSE)

# Stable prefixes of autograd errors (seed-experiments item 14): PyTorch rewords the rest.
KNOWN_PREFIXES = (
    "one of the variables needed for gradient computation has been modified by an inplace operation",
    "Trying to backward through the graph a second time",
    "element 0 of tensors does not require grad",
    "cannot assign",
    "a view of a leaf Variable that requires grad is being used in an in-place operation",
    "grad can be implicitly created only for scalar outputs",
    "One of the differentiated Tensors appears to not have been used in the graph",
    "One of the differentiated Tensors does not require grad",
)
WRITE_ADVICE = ("the verifier runs programs in a scratch working directory and blocks writes into your tree; "
                "write outputs to relative paths or tempfile.gettempdir()")
RUN_ADVICE = ("give --run 'python path/to/script.py' or --run 'python -m pytest tests/...' "
              "with a command that calls backward() on this code")


def stable_message(msg: str) -> str:
    for prefix in KNOWN_PREFIXES:
        if prefix in msg:
            return prefix
    return msg[:60]


def same_error(a: dict | None, b: dict | None) -> bool:
    if a is None or b is None:
        return False
    return a.get("type") == b.get("type") and stable_message(a.get("msg", "")) == stable_message(b.get("msg", ""))


def describe_error(err: dict) -> str:
    return "%s: %s" % (err.get("type", "Error"), stable_message(err.get("msg", "")))


def tolerance(dtype: str) -> tuple[float, float]:
    """(rtol, atol): seed-experiments item 12."""
    if dtype in ("float64", "complex128"):
        return 1e-12, 1e-12
    return 1e-5, 1e-6


@dataclass
class Closeness:
    bitwise: bool
    allclose: bool
    max_abs_diff: float | None  # None when the values were not recorded
    why: str = ""


def compare_tensors(a: dict, b: dict) -> Closeness:
    if a.get("dtype") != b.get("dtype") or list(a.get("shape", ())) != list(b.get("shape", ())):
        return Closeness(False, False, None, "dtype/shape %s%s vs %s%s" % (
            a.get("dtype"), tuple(a.get("shape", ())), b.get("dtype"), tuple(b.get("shape", ()))))
    if a.get("hash") == b.get("hash") and not str(a.get("hash", "")).startswith("unhashable"):
        return Closeness(True, True, 0.0)
    va, vb = values(a), values(b)
    if va is None or vb is None or len(va) != len(vb):
        return Closeness(False, False, None, "values differ (too large to diff)")
    rtol, atol = tolerance(a.get("dtype", ""))
    worst, close = 0.0, True
    for x, y in zip(va, vb):
        if math.isnan(x) and math.isnan(y):
            continue
        if x == y:
            continue
        diff = abs(x - y)
        if math.isnan(diff) or math.isinf(diff):
            worst, close = math.inf, False
            continue
        worst = max(worst, diff)
        if diff > atol + rtol * abs(y):
            close = False
    return Closeness(False, close, worst)


@dataclass
class Decision:
    verdict: str
    reason: str
    broken: list[str] = field(default_factory=list)  # what was wrong in the original
    fixed: list[str] = field(default_factory=list)
    still_broken: list[str] = field(default_factory=list)
    regressed: list[str] = field(default_factory=list)
    changed_leaves: list[str] = field(default_factory=list)  # "name: None -> finite nonzero"
    now_buffers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    max_abs_diff: float | None = None
    compared_calls: int = 0
    advice: str = ""

    def as_dict(self) -> dict:
        return {
            "verdict": self.verdict, "reason": self.reason, "broken": self.broken, "fixed": self.fixed,
            "still_broken": self.still_broken, "regressed": self.regressed,
            "changed_leaves": self.changed_leaves, "now_buffers": self.now_buffers, "notes": self.notes,
            "max_abs_diff": self.max_abs_diff, "compared_calls": self.compared_calls, "advice": self.advice,
        }


def _unverifiable(reason: str, advice: str = "") -> Decision:
    return Decision(UNVERIFIABLE, reason, advice=advice)


def _run_problem(run: Run, which: str) -> Decision | None:
    """Why a run cannot be used at all (None when it can)."""
    if run.timed_out:
        return _unverifiable("the %s program timed out after %gs" % (which, run.timeout),
                             "raise --timeout, or give --run with a shorter command")
    trace = run.trace
    if trace is None or (trace.torch is None and trace.error is None and trace.end is None):
        tail = run.stderr_tail.strip().splitlines()
        return _unverifiable("the %s program did not start%s" % (which, ": " + tail[-1] if tail else ""),
                             "check --python and the command")
    if trace.torch is None:
        return _unverifiable("torch cannot be imported by the %s program's Python (%s)" % (which, trace.error),
                             "pass --python with the interpreter that has torch")
    if run.returncode is not None and run.returncode < 0:
        return _unverifiable("the %s program was killed by %s" % (which, _signal_name(-run.returncode)),
                             "run it on its own to see why it is killed (memory? a crash in native code?)")
    if trace.end is None:
        return _unverifiable("the %s program ended (exit status %s) without finishing its run: os._exit() "
                             "or a crash of the interpreter, so its trace is incomplete" % (which, run.returncode),
                             "end the program by returning or sys.exit(), or give --run with a command that does")
    return None


def _signal_name(number: int) -> str:
    try:
        return "%s (signal %d)" % (signal.Signals(number).name, number)
    except ValueError:
        return "signal %d" % number


def _status(trace: Trace) -> tuple[str, int]:
    end = trace.end or {}
    code = end.get("exit_code", 0)
    return end.get("status", "ok"), code if isinstance(code, int) else 1


def _run_notes(d: "Decision", original: Run, rewritten: Run) -> None:
    for run, which in ((original, "original"), (rewritten, "rewritten")):
        if run.leftover:
            d.notes.append("the %s program left %d process(es) running; they were killed" % (which, run.leftover))
        if run.trace is not None and run.trace.blocked:
            stopped = " and stopped there" if _status(run.trace)[0] == "blocked" else ""
            d.notes.append("the %s program tried to write into your tree (%s)%s; the write was blocked" % (
                which, run.trace.blocked[0], stopped))


def _match_leaves(o: Trace, n: Trace) -> dict[int, int]:
    """Original lid -> rewritten lid: by name, then by (kind, shape, dtype) in order."""
    by_key = {leaf.key: lid for lid, leaf in n.leaves.items()}
    pairs: dict[int, int] = {}
    for lid, leaf in o.leaves.items():
        if leaf.key in by_key:
            pairs[lid] = by_key[leaf.key]
    taken = set(pairs.values())
    for lid in sorted(o.leaves):
        if lid in pairs:
            continue
        leaf = o.leaves[lid]
        if leaf.key in n.buffers:
            continue
        for nlid in sorted(n.leaves):
            other = n.leaves[nlid]
            if nlid in taken or other.key in o.buffers or any(x.key == other.key for x in o.leaves.values()):
                continue
            if (other.kind, other.shape, other.dtype) == (leaf.kind, leaf.shape, leaf.dtype):
                pairs[lid] = nlid
                taken.add(nlid)
                break
    return pairs


def _program_exception_is_regression(o: Trace, n: Trace, o_reach: int) -> str | None:
    exc = n.exc
    if not exc or exc.get("in_backward"):
        return None
    after = int(exc.get("after", 0))
    o_exc = o.exc
    if o_exc and not o_exc.get("in_backward") and int(o_exc.get("after", 0)) == after and same_error(o_exc, exc):
        return None
    if after < o_reach:
        return "the rewritten program raised %s before backward #%d, where the original did not" % (
            describe_error(exc), after + 1)
    return None


def decide(original: Run, rewritten: Run) -> Decision:
    decision = _decide(original, rewritten)
    _run_notes(decision, original, rewritten)
    return decision


def _decide(original: Run, rewritten: Run) -> Decision:
    for run, which in ((original, "original"), (rewritten, "rewritten")):
        problem = _run_problem(run, which)
        if problem is not None:
            return problem
    o, n = original.trace, rewritten.trace
    assert o is not None and n is not None
    if o.total_calls == 0:
        status, code = _status(o)
        if status == "blocked":
            return _unverifiable("the original program tried to write into your tree (%s) before any backward()" % (
                o.blocked[0] if o.blocked else "?"), WRITE_ADVICE)
        if status == "exit":
            return _unverifiable("the original program exited with status %d before any backward()" % code,
                                 "fix the program or " + RUN_ADVICE)
        if o.exc:
            kind = "an import error" if o.exc.get("type") in ("ImportError", "ModuleNotFoundError", "SyntaxError") else "an exception"
            advice = "fix the program or " + RUN_ADVICE
            if o.exc.get("type") in ("FileNotFoundError", "NotADirectoryError"):
                advice = ("the verifier runs programs in a scratch working directory; open data files by paths "
                          "built from __file__ (or absolute paths), or " + RUN_ADVICE)
            return _unverifiable("the original program stopped with %s before any backward() (%s)" % (
                kind, describe_error(o.exc)), advice)
        return _unverifiable("the program never calls backward() or torch.autograd.grad (no entry point)", RUN_ADVICE)

    d = Decision(VERIFIED, "")
    pairs = _match_leaves(o, n)

    # 1. forward values and random-number consumption, over the compared prefix.
    k = min(o.prefix, n.prefix)
    d.compared_calls = k
    mismatch: list[str] = []
    allclose_only = False
    worst = 0.0
    for i in range(1, k + 1):
        oc, nc = o.calls[i], n.calls[i]
        if oc.kind != nc.kind or len(oc.roots or ()) != len(nc.roots or ()):
            mismatch.append("call #%d is %s(%d roots) vs %s(%d roots)" % (
                i, oc.kind, len(oc.roots or ()), nc.kind, len(nc.roots or ())))
            continue
        for j, (ra, rb) in enumerate(zip(oc.roots or (), nc.roots or ())):
            c = compare_tensors(ra, rb)
            if c.max_abs_diff is not None:
                worst = max(worst, c.max_abs_diff)
            if c.bitwise:
                continue
            if c.allclose:
                allclose_only = True
                continue
            mismatch.append("backward #%d root %d differs (%s)" % (
                i, j, c.why or "max abs diff %.3g" % c.max_abs_diff))
        if oc.rng and nc.rng and oc.rng != nc.rng and not any("random-number" in m for m in mismatch):
            mismatch.append("random-number consumption changed before backward #%d (%s)" % (
                i, ", ".join(sorted(s for s in oc.rng if oc.rng.get(s) != nc.rng.get(s)))))
    if (o.mutation and n.mutation and int(o.mutation["after"]) == k == int(n.mutation["after"])
            and o.mutation.get("rng") != n.mutation.get("rng") and not any("random-number" in m for m in mismatch)):
        mismatch.append("random-number consumption changed before the first state mutation")
    if (o.mutation is None and n.mutation is None and o.end and n.end and o.end.get("status") == "ok"
            and n.end.get("status") == "ok" and o.total_calls == n.total_calls
            and o.end.get("rng") != n.end.get("rng") and not any("random-number" in m for m in mismatch)):
        mismatch.append("random-number consumption changed (state differs at the end)")
    d.max_abs_diff = worst if k else None

    # 2. what was broken in the original, and what became of it.
    problems = 0
    # Leaves without a gradient in both versions: still broken only if the rewrite fixed
    # nothing at all; otherwise they are leaves the loss never reads (a backward that
    # raised left every leaf at None, so the original cannot tell the two apart).
    untouched: list[str] = []
    orig_raise = o.first_raise()
    if orig_raise is not None:
        r, err = orig_raise
        problems += 1
        d.broken.append("backward #%d raised %s" % (r, describe_error(err)))
        new_err = n.raised_at(r)
        if new_err is not None:
            d.still_broken.append("backward #%d still raises %s" % (r, describe_error(new_err)))
        elif n.total_calls >= r:
            d.fixed.append("backward #%d no longer raises" % r)
        else:
            d.still_broken.append("backward #%d is never reached" % r)
    o_exc = o.exc
    if o_exc and not o_exc.get("in_backward"):
        problems += 1
        d.broken.append("the program raised %s after backward #%d" % (describe_error(o_exc), int(o_exc.get("after", 0))))
        if same_error(o_exc, n.exc):
            d.still_broken.append("the program still raises %s" % describe_error(o_exc))
        else:
            d.fixed.append("the program no longer raises %s" % describe_error(o_exc))
    for lid in sorted(o.leaves):
        leaf = o.leaves[lid]
        o_ok = o.ever_ok(lid)
        nlid = pairs.get(lid)
        if nlid is None:
            if leaf.key in n.buffers:
                d.now_buffers.append(leaf.key)
            elif o_ok:
                d.notes.append("%s is no longer a leaf that requires grad" % leaf.key)
            if not o_ok:
                problems += 1
                d.broken.append("%s: grad %s" % (leaf.key, STATE_TEXT[o.last_state(lid)]))
                d.notes.append("%s was without a gradient and is gone from the rewritten program" % leaf.key)
            continue
        n_ok = n.ever_ok(nlid)
        name = leaf.key if leaf.key == n.leaves[nlid].key else "%s (now %s)" % (leaf.key, n.leaves[nlid].key)
        if n.leaves[nlid].shape != leaf.shape:
            d.notes.append("%s is reshaped: %s -> %s" % (name, leaf.shape, n.leaves[nlid].shape))
        if not o_ok:
            problems += 1
            before = STATE_TEXT[o.last_state(lid)]
            d.broken.append("%s: grad %s" % (name, before))
            if n_ok:
                d.fixed.append("%s: grad %s -> finite nonzero" % (name, before))
                d.changed_leaves.append("%s: %s -> finite nonzero" % (name, before))
            else:
                untouched.append("%s: grad still %s" % (name, STATE_TEXT[n.last_state(nlid)]))
        elif not n_ok:
            after = STATE_TEXT[n.last_state(nlid)]
            d.regressed.append("%s: grad was finite nonzero, now %s" % (name, after))
            d.changed_leaves.append("%s: finite nonzero -> %s" % (name, after))
    new_only = sorted(n.leaves[x].key for x in set(n.leaves) - set(pairs.values())
                      if n.leaves[x].key not in {lf.key for lf in o.leaves.values()})
    if new_only:
        d.notes.append("new leaves in the rewritten program: %s" % ", ".join(new_only[:8]))
    if o.nonleaf_grad_reads:
        problems += 1
        d.broken.append(".grad of a non-leaf tensor was read (it is None) %d time(s)" % o.nonleaf_grad_reads)
        if n.nonleaf_grad_reads:
            d.still_broken.append(".grad of a non-leaf tensor is still read %d time(s)" % n.nonleaf_grad_reads)
        else:
            d.fixed.append(".grad is now read from the leaf")
    for i in sorted(o.calls):
        res = o.calls[i].results
        if res and any(s != "ok" for s in res):
            problems += 1
            bad = [j for j, s in enumerate(res) if s != "ok"]
            d.broken.append("autograd.grad #%d: result(s) %s None/zero" % (i, bad))
            nres = n.calls[i].results if i in n.calls else None
            if i in n.calls and (nres is None or all(s == "ok" for s in nres)) and not n.calls[i].raised:
                d.fixed.append("autograd.grad #%d: results now finite nonzero" % i)
            else:
                d.still_broken.append("autograd.grad #%d: result(s) still None/zero" % i)

    if untouched and not d.fixed:
        d.still_broken.extend(untouched)
    elif untouched:
        d.notes.append("no gradient in either version (the loss does not reach them?): %s" % "; ".join(untouched[:6]))

    # 3. regressions: new raises, lost gradients.
    for i in sorted(n.calls):
        err = n.calls[i].raised
        if err and i <= o.total_calls and not o.raised_at(i):
            d.regressed.append("backward #%d now raises %s" % (i, describe_error(err)))
    o_reach = o.prefix if o.mutation else o.total_calls
    program = _program_exception_is_regression(o, n, o_reach)
    if program:
        d.regressed.append(program)
    if n.total_calls == 0 and not n.exc:
        d.regressed.append("the rewritten program never calls backward()")
    (o_status, o_code), (n_status, n_code) = _status(o), _status(n)
    if n_status == "exit" and o_code == 0 and o_status == "ok":
        d.regressed.append("the rewritten program exited with status %d (the original ended normally)" % n_code)
    if n.exc and not program and not n.exc.get("in_backward") and not same_error(o.exc, n.exc):
        d.notes.append("the rewritten program raised %s after backward #%d, outside the compared prefix" % (
            describe_error(n.exc), int(n.exc.get("after", 0))))

    # 4. crash-only bugs (seed 004): the gradients before the crash must be equal.
    grads_close_only = False
    crash_only = orig_raise is not None and orig_raise[0] > k and problems == 1
    if crash_only and not mismatch:
        for i in range(1, k + 1):
            for lid, nlid in pairs.items():
                a = o.calls[i].leaves.get(lid, (None, None))[1]
                b = n.calls[i].leaves.get(nlid, (None, None))[1]
                if a is None or b is None:
                    continue
                c = compare_tensors(a, b)
                if c.bitwise:
                    continue
                if c.allclose:
                    grads_close_only = True
                else:
                    mismatch.append("grad of %s after backward #%d differs (the original only crashed later)" % (
                        o.leaves[lid].key, i))

    # 5. the verdict.
    if d.now_buffers:
        d.notes.append("now a buffer (not a regression): %s" % ", ".join(d.now_buffers))
    if mismatch:
        d.verdict, d.reason = FORWARD_MISMATCH, "; ".join(mismatch[:4])
    elif d.regressed:
        d.verdict, d.reason = REGRESSED, "; ".join(d.regressed[:4])
    elif d.still_broken:
        d.verdict, d.reason = STILL_BROKEN, "; ".join(d.still_broken[:4])
    else:
        exact = not allclose_only and not grads_close_only
        d.verdict = VERIFIED if exact else VERIFIED_ALLCLOSE
        what = "forward equal bitwise" if exact else "forward equal within tolerance only (not bitwise)"
        if k == 0:
            what = "no forward value could be compared"
        if problems:
            d.reason = "%s over %d backward call(s); %d problem(s) fixed" % (what, k, len(d.fixed))
        else:
            d.reason = "nothing was broken in the original; %s over %d backward call(s)" % (what, k)
    return d
