"""The trace a verified run leaves behind, read back into plain objects (no torch here).

The child (``bootstrap.py``) writes one JSON object per line:

- ``start``: ``torch`` version (None when torch could not be imported, with ``error``).
- ``leaf``: a leaf that requires grad got a name: ``lid``, ``key`` (``flow.w``,
  ``model.lstm.weight_ih_l0``, ``eta``...), ``kind`` (parameter/tensor), ``shape``, ``dtype``.
- ``call``: one ``backward()`` / ``torch.autograd.backward`` / ``torch.autograd.grad`` call
  ``n``. Detailed calls (those before the first state mutation, at most ``max_detail``)
  carry ``roots`` (tensor summaries with values), ``rng`` (hashes of the random states
  at entry) and ``leaves`` (``[lid, state, grad summary]``); later calls are ``lite`` and
  are written only when they raised or a leaf got its first usable grad (``newly_ok``).
  ``raised`` is ``{type, msg}``; ``results`` are the states of ``autograd.grad`` results.
- ``mutation``: the first state mutation after a backward: ``after`` (calls completed),
  ``what``, ``rng``.
- ``blocked``: the program tried to write ``path`` in the user's tree and got an error.
- ``end``: ``calls``, ``status`` (ok/exit/exception/blocked: stopped by a blocked write), ``exit_code``, ``exc`` (with
  ``after`` and ``in_backward``), ``buffers`` of named modules, ``nonleaf_grad_reads``.

A tensor summary is ``{dtype, shape, hash, values?}``; ``values`` is base64 of the
float64 values, present for small tensors. Leaf states: ``none``, ``zero``,
``nonfinite``, ``ok`` (finite and not all zero), ``unknown``.
"""

from __future__ import annotations

import base64
import json
from array import array
from dataclasses import dataclass, field

STATE_TEXT = {"none": "None", "zero": "all-zero", "nonfinite": "non-finite", "ok": "finite nonzero", "unknown": "unknown"}


@dataclass
class Leaf:
    lid: int
    key: str
    kind: str = "parameter"
    shape: tuple = ()
    dtype: str = "float32"


@dataclass
class Call:
    n: int
    kind: str = "backward"
    roots: list | None = None  # None for lite calls
    rng: dict | None = None
    raised: dict | None = None
    leaves: dict = field(default_factory=dict)  # lid -> (state, summary | None)
    results: list | None = None
    newly_ok: list = field(default_factory=list)

    @property
    def detailed(self) -> bool:
        return self.roots is not None


@dataclass
class Trace:
    torch: str | None = None
    error: str | None = None
    leaves: dict = field(default_factory=dict)  # lid -> Leaf
    calls: dict = field(default_factory=dict)  # n -> Call
    mutation: dict | None = None
    end: dict | None = None
    extra: list = field(default_factory=list)  # events of other kinds (plugins such as doctor's probe)
    blocked: list = field(default_factory=list)  # paths in the user's tree the program tried to write

    @property
    def total_calls(self) -> int:
        if self.end is not None:
            return int(self.end.get("calls", 0))
        return max(self.calls, default=0)

    @property
    def detailed_calls(self) -> int:
        n = 0
        while (n + 1) in self.calls and self.calls[n + 1].detailed:
            n += 1
        return n

    @property
    def prefix(self) -> int:
        """Backward calls before the first state mutation (all detailed ones if none)."""
        detailed = self.detailed_calls
        if self.mutation is not None:
            return min(int(self.mutation["after"]), detailed)
        return detailed

    @property
    def exc(self) -> dict | None:
        return (self.end or {}).get("exc")

    @property
    def buffers(self) -> set:
        return set((self.end or {}).get("buffers", ()))

    @property
    def nonleaf_grad_reads(self) -> int:
        return int((self.end or {}).get("nonleaf_grad_reads", 0))

    def ever_ok(self, lid: int) -> bool:
        for call in self.calls.values():
            if call.leaves.get(lid, ("",))[0] == "ok" or lid in call.newly_ok:
                return True
        return False

    def last_state(self, lid: int) -> str:
        state = "none"
        for n in sorted(self.calls):
            if lid in self.calls[n].leaves:
                state = self.calls[n].leaves[lid][0]
        return state

    def raised_at(self, n: int) -> dict | None:
        call = self.calls.get(n)
        return call.raised if call is not None else None

    def first_raise(self) -> tuple[int, dict] | None:
        for n in sorted(self.calls):
            if self.calls[n].raised:
                return n, self.calls[n].raised
        return None


def parse_trace(text: str) -> Trace:
    """Read a trace; a truncated last line (the child was killed) is ignored."""
    trace = Trace()
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        kind = event.get("ev")
        if kind == "start":
            trace.torch = event.get("torch")
            trace.error = event.get("error")
        elif kind == "leaf":
            trace.leaves[event["lid"]] = Leaf(event["lid"], event["key"], event.get("kind", "parameter"),
                                              tuple(event.get("shape", ())), event.get("dtype", ""))
        elif kind == "call":
            leaves = {}
            for item in event.get("leaves", ()):
                leaves[item[0]] = (item[1], item[2] if len(item) > 2 else None)
            trace.calls[event["n"]] = Call(
                n=event["n"], kind=event.get("kind", "backward"),
                roots=None if event.get("lite") else event.get("roots", []),
                rng=event.get("rng"), raised=event.get("raised"), leaves=leaves,
                results=event.get("results"), newly_ok=list(event.get("newly_ok", ())),
            )
        elif kind == "blocked":
            trace.blocked.append(event.get("path", ""))
        elif kind == "mutation" and trace.mutation is None:
            trace.mutation = event
        elif kind == "end":
            trace.end = event
        else:
            trace.extra.append(event)
    return trace


def values(summary: dict) -> list[float] | None:
    data = summary.get("values")
    if data is None:
        return None
    return list(array("d", base64.b64decode(data)))


@dataclass
class Run:
    """One child run as the parent saw it."""

    trace: Trace | None
    returncode: int | None = 0
    timed_out: bool = False
    timeout: float = 0.0
    stderr_tail: str = ""
    seconds: float = 0.0
    leftover: int = 0  # processes the program left running when it ended (all killed)
    output_bytes: int = 0  # what it printed on stdout
