"""gradfix doctor, parent side: run the user's program under the probe and turn what it saw
into records, one per parameter left without a usable gradient (gradfix itself never
imports torch).

A record: ``parameter`` (qualified name within its module, e.g. ``encoder.layers.0.weight``;
a variable name for a plain tensor), ``owner`` (the variable holding the module), ``state``
(``none`` | ``zero`` | ``nonfinite`` | ``error``), ``cause``, ``file``, ``line``, ``op``,
``message``, ``rule`` (a static rule matching the line, or None), ``backward_call``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from gradfix.verify.runner import DEFAULT_TIMEOUT, RunSpec, Target, run_specs

PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe.py")
DEFAULT_MAX_CALLS = 20

CAUSE_TITLES = {
    "detach": "`.detach()` on the path to the loss",
    "data": "`.data` on the path to the loss",
    "escape": "values leave the tensor world (.item(), float(), .numpy(), .tolist())",
    "constructor": "a tensor constructor copies graph-carrying values",
    "grad-disabled": "computed under a grad-disabled region",
    "sampling": "non-reparameterised sampling",
    "non-differentiable": "a non-differentiable op on the path to the loss",
    "unused": "registered but never used by the loss",
    "unregistered": "not registered with the module",
    "output-slots": "used only through output slots the loss does not read",
    "inplace": "backward raised: an in-place write on a tensor saved for backward",
    "inplace-leaf": "an in-place write on a leaf that requires grad",
    "freed-graph": "backward raised: a freed graph is used again",
    "no-graph": "the loss has no graph",
    "nonleaf": "`.grad` of a non-leaf tensor",
    "nonfinite": "non-finite gradients",
    "zero": "all-zero gradients",
    "frozen": "requires_grad turned off",
    "replaced": "a Parameter replaced after the optimizer was made",
    "typo": "a misspelt requires_grad",
    "none": "None gradients",
    "backward-error": "backward raised",
    "unused-input": "autograd.grad input not used in the graph",
}
RECORD_KEYS = ("parameter", "state", "cause", "file", "line", "op", "message", "rule", "backward_call")


@dataclass
class DoctorReport:
    records: list[dict] = field(default_factory=list)
    calls: int = 0
    stopped: bool = False
    exception: dict | None = None  # the program's own exception (outside backward or not explained)
    timed_out: bool = False
    timeout: float = 0.0
    fatal: str | None = None  # the run could not be judged at all (no torch, no trace)
    stderr_tail: str = ""
    internal: list[str] = field(default_factory=list)
    mapped_cuda: int = 0  # CUDA calls run on the CPU (no GPU here)

    @property
    def clean(self) -> bool:
        return not self.records and self.calls > 0 and self.exception is None and not self.timed_out \
            and self.fatal is None


def run_doctor(target: Target, python: str | None = None, timeout: float = DEFAULT_TIMEOUT,
               max_calls: int = DEFAULT_MAX_CALLS, keep: str | None = None) -> DoctorReport:
    """Run ``target`` once under the probe and collect its report."""
    spec = RunSpec(target, config={"plugins": [PROBE], "max_detail": 0, "doctor_max_calls": max_calls})
    run = run_specs([spec], python=python, timeout=timeout, keep=keep)[0]
    report = DoctorReport(timed_out=run.timed_out, timeout=timeout, stderr_tail=run.stderr_tail)
    trace = run.trace
    if trace is None or trace.torch is None:
        why = (trace.error if trace is not None else None) or "the program did not start"
        report.fatal = "could not run the program under torch: %s" % why
        return report
    problems: dict = {}
    order: list = []
    for event in trace.extra:
        if event.get("ev") != "doctor":
            continue
        kind = event.get("type")
        if kind == "problem":
            key = event.get("rid", len(order))
            old = event.get("replaces")
            if old in problems:  # a later backward pinned the same parameter on a surer cut
                order[order.index(old)] = key
                del problems[old]
            else:
                order.append(key)
            problems[key] = event
        elif kind == "ok":
            key = event.get("rid")
            if key in problems and problems[key].get("state") != "error":
                order.remove(key)
                del problems[key]
        elif kind == "stopped":
            report.stopped = True
        elif kind == "exception":
            report.exception = {k: v for k, v in event.items() if k not in ("ev", "type")}
        elif kind == "end":
            report.calls = int(event.get("calls", 0))
            report.mapped_cuda = int(event.get("mapped_cuda", 0))
        elif kind == "internal":
            report.internal.append(event.get("message", ""))
    if trace.end is not None:
        report.calls = max(report.calls, int(trace.end.get("calls", 0)))
    else:
        report.calls = max(report.calls, trace.total_calls)
    records = [problems[k] for k in order]
    records.extend(_exception_records(report, records))
    report.records = [_clean(r) for r in records]
    _dedupe_parameterless(report)
    _attach_rules(report.records)
    return report


def _exception_records(report: DoctorReport, records: list[dict]) -> list[dict]:
    """An exception outside backward that is itself a gradient problem becomes a record."""
    exc = report.exception
    if exc is None:
        return []
    message = exc.get("message", "")
    if exc.get("in_backward") and any(r.get("state") == "error" for r in records):
        report.exception = None  # the raising backward is reported already, with its cause
        return []
    if "leaf Variable that requires grad is being used in an in-place operation" in message and \
            any(r.get("cause") == "inplace-leaf" for r in records):
        report.exception = None
    if "can't optimize a non-leaf Tensor" in message and any(r.get("cause") == "nonleaf" for r in records):
        report.exception = None
    if "empty parameter list" in message and any(r.get("cause") == "unregistered" for r in records):
        report.exception = None
    return []


def _clean(record: dict) -> dict:
    out = {k: record.get(k) for k in RECORD_KEYS}
    for extra in ("owner", "qualname", "producer_file", "producer_line", "also", "call_file", "call_line"):
        if record.get(extra) is not None:
            out[extra] = record[extra]
    if out.get("qualname"):
        out["parameter"] = out["qualname"]
    out.pop("qualname", None)
    return out


def _dedupe_parameterless(report: DoctorReport) -> None:
    """A backward error with no parameter to name is reported once per cause and place."""
    seen = set()
    kept = []
    for r in report.records:
        if r.get("parameter") is None:
            key = (r.get("cause"), r.get("file"), r.get("line"))
            if key in seen:
                continue
            seen.add(key)
        kept.append(r)
    report.records = kept


def _attach_rules(records: list[dict]) -> None:
    """Name the static rule whose finding sits on (or next to) a record's line."""
    from gradfix.engine import InputError, Settings, check_source, read_source

    by_file: dict[str, list] = {}
    settings = Settings.from_codes()
    for r in records:
        path, line = r.get("file"), r.get("line")
        if not path or not line or not path.endswith(".py") or not os.path.isfile(path):
            continue
        if path not in by_file:
            try:
                source, _ = read_source(path)
                by_file[path] = check_source(source, path, settings, fix=False).diagnostics
            except (InputError, SyntaxError, ValueError, OSError):
                by_file[path] = []
        near = sorted((abs(d.line - line), d.line, d.code) for d in by_file[path] if abs(d.line - line) <= 1)
        if near:
            code = near[0][2]
            r["rule"] = code
            fixable = any(d.code == code and d.fixable for d in by_file[path] if abs(d.line - line) <= 1)
            r["rule_fixable"] = fixable


# -- output ------------------------------------------------------------------------------------------
def _rel(path: str | None) -> str:
    if not path:
        return "?"
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith(os.pardir + os.sep) else rel


def _groups(records: list[dict]) -> list[tuple[tuple, list[dict]]]:
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r.get("cause"), r.get("file"), r.get("line"), r.get("op")), []).append(r)
    return sorted(groups.items(), key=lambda item: (-len(item[1]), str(item[0][0]), str(item[0][1]), item[0][2] or 0))


def _names(records: list[dict]) -> str:
    names = []
    for r in records:
        if r.get("parameter") is None:
            continue
        name = "%s.%s" % (r["owner"], r["parameter"]) if r.get("owner") and r["owner"] != r["parameter"] else r["parameter"]
        if name not in names:
            names.append(name)
    if len(names) > 12:
        return ", ".join(names[:12]) + ", ... (%d in all)" % len(names)
    return ", ".join(names)


STATE_WORDS = {"none": "gradient None", "zero": "gradient all zero", "nonfinite": "gradient not finite",
               "error": "raised"}


def format_text(report: DoctorReport, what: str) -> str:
    lines = []
    if report.fatal:
        return "gradfix doctor: %s: %s" % (what, report.fatal)
    for (cause, path, line, op), items in _groups(report.records):
        states = sorted({"never updated" if cause == "unregistered" else
                         "zero in the unread slots" if r.get("op") == "backward of a slice" else
                         STATE_WORDS.get(r.get("state"), r.get("state")) for r in items})
        where = "%s:%s" % (_rel(path), line) if path and line else what
        first = items[0]
        names = _names(items)
        head = "%s: %s" % (where, first.get("message"))
        lines.append(head)
        if names:
            lines.append("  parameters: %s (%s)" % (names, "; ".join(states)))
        calls = [r.get("backward_call") for r in items if r.get("backward_call")]
        if calls and first.get("call_line"):
            lines.append("  seen at backward call %d (%s:%d)" % (min(calls), _rel(first.get("call_file")), first["call_line"]))
        if first.get("producer_line") and cause == "inplace":
            lines.append("  the tensor was produced at %s:%d" % (_rel(first.get("producer_file")), first["producer_line"]))
        for extra in first.get("also") or ():
            lines.append("  also cut at %s:%s (`%s`)" % (_rel(extra[0]), extra[1], extra[2]))
        if first.get("rule"):
            if first.get("rule_fixable"):
                lines.append("  rule %s matches this line: `gradfix apply --select %s %s` fixes it"
                             % (first["rule"], first["rule"], _rel(path)))
            else:
                lines.append("  rule %s matches this line (`gradfix rules %s` explains it)" % (first["rule"], first["rule"]))
    if report.exception:
        exc = report.exception
        where = "%s:%s: " % (_rel(exc.get("file")), exc.get("line")) if exc.get("file") else ""
        lines.append("%sthe program raised %s: %s (the report covers what ran before)"
                     % (where, exc.get("exc_type"), exc.get("message")))
    if report.timed_out:
        lines.append("%s: timed out after %gs (the report covers what ran before; give --timeout)" % (what, report.timeout))
    n = len({(r.get("owner"), r.get("parameter")) for r in report.records if r.get("parameter")})
    calls = "%d backward call%s" % (report.calls, "" if report.calls == 1 else "s")
    if report.stopped:
        calls += " (stopped there; --max-backward sets the limit)"
    if report.calls == 0 and not report.records:
        lines.append("%s: no backward() or autograd.grad call ran: nothing to diagnose "
                     "(give --run with the command that trains)" % what)
    elif report.records:
        lines.append("Found %d parameter%s without a usable gradient over %s." % (n, "" if n == 1 else "s", calls)
                     if n else "Found %d problem%s over %s." % (len(report.records), "" if len(report.records) == 1 else "s", calls))
    elif report.clean:
        lines.append("%s: every trained parameter got a usable gradient over %s." % (what, calls))
    if report.mapped_cuda:
        lines.append("(no GPU here: the program's CUDA calls ran on the CPU)")
    for message in report.internal[:3]:
        lines.append("gradfix doctor: internal: %s" % message)
    return "\n".join(lines)


def as_json(report: DoctorReport) -> list[dict]:
    """The records; a run that could not be judged fully adds one record without a parameter."""
    records = []
    for r in report.records:
        out = {k: r.get(k) for k in RECORD_KEYS}
        out["file"] = _rel(r.get("file")) if r.get("file") else None
        for extra in ("owner", "also", "producer_line"):
            if r.get(extra) is not None:
                out[extra] = r[extra]
        records.append(out)

    def run_record(cause, message, file=None, line=None, op=None):
        records.append({"parameter": None, "state": "error", "cause": cause, "file": _rel(file) if file else None,
                        "line": line, "op": op, "message": message, "rule": None, "backward_call": None})

    if report.fatal:
        run_record("not-run", report.fatal)
    if report.exception:
        exc = report.exception
        run_record("program-error", "the program raised %s: %s" % (exc.get("exc_type"), exc.get("message")),
                   exc.get("file"), exc.get("line"), exc.get("op"))
    if report.timed_out:
        run_record("timeout", "timed out after %gs" % report.timeout)
    if report.calls == 0 and not report.fatal and not report.records:
        run_record("no-backward", "no backward() or autograd.grad call ran: nothing to diagnose")
    return records
