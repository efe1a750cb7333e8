"""The verifier's decision logic on synthetic traces (no subprocess, no torch)."""

from __future__ import annotations

import base64
import hashlib
import json
from array import array

import pytest

from gradfix.verify.compare import (
    FORWARD_MISMATCH,
    REGRESSED,
    STILL_BROKEN,
    UNVERIFIABLE,
    VERIFIED,
    VERIFIED_ALLCLOSE,
    compare_tensors,
    decide,
    stable_message,
)
from gradfix.verify.record import Run, parse_trace

RNG = {"torch": "aa", "random": "bb"}


def summary(*vals: float, dtype: str = "float32") -> dict:
    raw = array("d", vals).tobytes()
    return {"dtype": dtype, "shape": [len(vals)], "hash": hashlib.blake2b(raw).hexdigest(),
            "values": base64.b64encode(raw).decode()}


def leaf(lid: int, key: str, shape=(3,)) -> dict:
    return {"ev": "leaf", "lid": lid, "key": key, "kind": "parameter", "shape": list(shape), "dtype": "float32"}


def call(n: int, leaves, root=None, raised=None, rng=RNG, kind="backward") -> dict:
    event = {"ev": "call", "n": n, "kind": kind, "roots": [root or summary(1.5)], "rng": rng, "leaves": leaves}
    if raised:
        event["raised"] = {"type": "RuntimeError", "msg": raised}
    return event


def end(calls: int, status="ok", exc=None, buffers=(), reads=0) -> dict:
    return {"ev": "end", "calls": calls, "status": status, "exit_code": 0 if status == "ok" else 1,
            "exc": exc, "buffers": list(buffers), "nonleaf_grad_reads": reads, "rng": RNG}


def run(*events, **kw) -> Run:
    events = ({"ev": "start", "torch": "2.13.0"},) + events
    return Run(parse_trace("\n".join(json.dumps(e) for e in events)), **kw)


G = summary(0.25, 0.5, 1.0)
SECOND_TIME = ("Trying to backward through the graph a second time (or directly access saved tensors after "
               "they have already been freed). Saved intermediate values of the graph are freed")


def test_missing_grad_now_present_is_verified():
    o = run(leaf(0, "enc.weight"), call(1, [[0, "none"]]), end(1))
    n = run(leaf(0, "enc.weight"), call(1, [[0, "ok", G]]), end(1))
    d = decide(o, n)
    assert d.verdict == VERIFIED
    assert d.max_abs_diff == 0.0
    assert d.changed_leaves == ["enc.weight: None -> finite nonzero"]


def test_zero_grad_that_stays_zero_is_still_broken():
    o = run(leaf(0, "mu"), call(1, [[0, "zero", summary(0, 0, 0)]]), end(1))
    n = run(leaf(0, "mu"), call(1, [[0, "zero", summary(0, 0, 0)]]), end(1))
    d = decide(o, n)
    assert d.verdict == STILL_BROKEN
    assert "mu: grad still all-zero" in d.still_broken


def test_same_error_with_reworded_tail_is_still_broken():
    msg_old = ("one of the variables needed for gradient computation has been modified by an inplace operation: "
               "[torch.FloatTensor []], which is output 0 of AsStridedBackward0, is at version 1")
    msg_new = ("one of the variables needed for gradient computation has been modified by an inplace operation: "
               "[torch.FloatTensor []], which is output 0 of AsStrided, is at version 1; check_nan=False")
    o = run(leaf(0, "p"), call(1, [[0, "none"]], raised=msg_old), end(1, "exception"))
    n = run(leaf(0, "p"), call(1, [[0, "none"]], raised=msg_new), end(1, "exception"))
    assert stable_message(msg_old) == stable_message(msg_new)
    assert decide(o, n).verdict == STILL_BROKEN


@pytest.mark.parametrize("delta, dtype, verdict", [
    (0.0, "float32", VERIFIED),
    (3e-8, "float32", VERIFIED_ALLCLOSE),
    (1e-3, "float32", FORWARD_MISMATCH),
    (1e-9, "float64", FORWARD_MISMATCH),
    (1e-14, "float64", VERIFIED_ALLCLOSE),
])
def test_forward_tolerance(delta, dtype, verdict):
    o = run(leaf(0, "w"), call(1, [[0, "none"]], root=summary(1.0, 2.0, dtype=dtype)), end(1))
    n = run(leaf(0, "w"), call(1, [[0, "ok", G]], root=summary(1.0, 2.0 + delta, dtype=dtype)), end(1))
    d = decide(o, n)
    assert d.verdict == verdict
    assert d.max_abs_diff == pytest.approx(delta, abs=1e-15)


def test_changed_random_consumption_is_a_forward_mismatch():
    o = run(leaf(0, "w"), call(1, [[0, "none"]]), end(1))
    n = run(leaf(0, "w"), call(1, [[0, "ok", G]], rng={"torch": "zz", "random": "bb"}), end(1))
    d = decide(o, n)
    assert d.verdict == FORWARD_MISMATCH
    assert "random-number consumption changed" in d.reason and "torch" in d.reason


def test_values_after_the_first_state_mutation_are_not_compared():
    mutation = {"ev": "mutation", "after": 1, "what": "SGD.step()", "rng": RNG}
    o = run(leaf(0, "w"), call(1, [[0, "none"]]), mutation, call(2, [[0, "none"]], root=summary(9.0)), end(2))
    n = run(leaf(0, "w"), call(1, [[0, "ok", G]]), mutation, call(2, [[0, "ok", G]], root=summary(7.0)), end(2))
    d = decide(o, n)
    assert d.verdict == VERIFIED
    assert d.compared_calls == 1


def test_crash_only_bug_requires_equal_step_one_grads():
    mutation = {"ev": "mutation", "after": 1, "what": "Adam.step()", "rng": RNG}
    o = run(leaf(0, "log_std"), call(1, [[0, "ok", G]]), mutation,
            {"ev": "call", "n": 2, "kind": "backward", "lite": True, "raised": {"type": "RuntimeError", "msg": SECOND_TIME}},
            end(2, "exception", {"type": "RuntimeError", "msg": SECOND_TIME, "after": 2, "in_backward": 2}))
    good = run(leaf(0, "log_std"), call(1, [[0, "ok", G]]), mutation, end(4))
    d = decide(o, good)
    assert d.verdict == VERIFIED and "backward #2 no longer raises" in d.fixed
    bad = run(leaf(0, "log_std"), call(1, [[0, "ok", summary(0.25, 0.5, 2.0)]]), mutation, end(4))
    d = decide(o, bad)
    assert d.verdict == FORWARD_MISMATCH
    assert "grad of log_std after backward #1 differs" in d.reason


def test_parameter_turned_buffer_is_reported_not_regressed():
    o = run(leaf(0, "flow.w"), leaf(1, "cond.weight"), call(1, [[0, "ok", G], [1, "none"]]), end(1))
    n = run(leaf(0, "cond.weight"), call(1, [[0, "ok", G]]), end(1, buffers=["flow.w"]))
    d = decide(o, n)
    assert d.verdict == VERIFIED
    assert d.now_buffers == ["flow.w"]
    assert not d.regressed


def test_lost_gradient_is_a_regression():
    o = run(leaf(0, "backbone.weight"), leaf(1, "head.weight"), call(1, [[0, "ok", G], [1, "ok", G]]), end(1))
    n = run(leaf(0, "backbone.weight"), leaf(1, "head.weight"), call(1, [[0, "none"], [1, "ok", G]]), end(1))
    d = decide(o, n)
    assert d.verdict == REGRESSED
    assert d.regressed == ["backbone.weight: grad was finite nonzero, now None"]


def test_new_backward_error_is_a_regression():
    o = run(leaf(0, "w"), call(1, [[0, "ok", G]]), end(3))
    n = run(leaf(0, "w"), call(1, [[0, "ok", G]]),
            {"ev": "call", "n": 2, "kind": "backward", "lite": True, "raised": {"type": "RuntimeError", "msg": SECOND_TIME}},
            end(2, "exception", {"type": "RuntimeError", "msg": SECOND_TIME, "after": 2, "in_backward": 2}))
    d = decide(o, n)
    assert d.verdict == REGRESSED
    assert "backward #2 now raises RuntimeError: Trying to backward through the graph a second time" in d.regressed


def test_exception_before_the_first_backward_in_the_rewrite_is_a_regression():
    o = run(leaf(0, "w"), call(1, [[0, "none"]]), end(1))
    n = run(end(0, "exception", {"type": "AttributeError", "msg": "'Flow' object has no attribute 'w'", "after": 0}))
    d = decide(o, n)
    assert d.verdict == REGRESSED
    assert "AttributeError" in d.reason


def test_nothing_broken_and_forward_equal_is_verified_and_says_so():
    o = run(leaf(0, "w"), call(1, [[0, "ok", G]]), end(1))
    n = run(leaf(0, "w"), call(1, [[0, "ok", summary(1.0, 1.0, 1.0)]]), end(1))
    d = decide(o, n)
    assert d.verdict == VERIFIED
    assert d.reason.startswith("nothing was broken")


def test_nonleaf_grad_read_counts_as_the_problem():
    o = run(leaf(0, "eta"), call(1, [[0, "ok", G]]), end(1, reads=1))
    fixed = run(leaf(0, "eta"), call(1, [[0, "ok", G]]), end(1, reads=0))
    assert decide(o, fixed).verdict == VERIFIED
    assert decide(o, o).verdict == STILL_BROKEN


def test_renamed_leaf_is_matched_by_shape():
    o = run(leaf(0, "param#0"), call(1, [[0, "none"]]), end(1))
    n = run(leaf(0, "gain"), call(1, [[0, "ok", G]]), end(1))
    d = decide(o, n)
    assert d.verdict == VERIFIED
    assert d.fixed == ["param#0 (now gain): grad None -> finite nonzero"]


@pytest.mark.parametrize("o, reason", [
    (run(end(0)), "never calls backward"),
    (run(end(0, "exception", {"type": "ModuleNotFoundError", "msg": "No module named 'x'", "after": 0})), "import error"),
    (Run(parse_trace('{"ev":"start","torch":null,"error":"ModuleNotFoundError: torch"}')), "torch cannot be imported"),
    (Run(None, timed_out=True, timeout=5), "timed out after 5s"),
])
def test_unverifiable_always_says_why(o, reason):
    n = run(leaf(0, "w"), call(1, [[0, "ok", G]]), end(1))
    d = decide(o, n)
    assert d.verdict == UNVERIFIABLE
    assert reason in d.reason
    assert d.advice


def test_compare_tensors_shape_and_nan():
    assert not compare_tensors(summary(1.0), summary(1.0, 2.0)).allclose
    nan = float("nan")
    c = compare_tensors(summary(nan, 1.0), summary(nan, 1.0 + 1e-9))
    assert c.allclose and not c.bitwise
