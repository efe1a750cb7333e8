"""The PyTensor verifier's decision logic on hand-made probe records (no pytensor needed)."""

from __future__ import annotations

import copy

from gradfix.verify.pytensor_backend import decide, is_pytensor_program


def _value(sha: str, values: list[float]) -> dict:
    return {"dtype": "<f8", "shape": [len(values)], "sha256": sha, "values": values}


NULL_ERROR = {"type": "NullTypeGradError", "message": "`grad` encountered a NaN. This variable is Null"}

BROKEN = {
    "framework": "pytensor",
    "functions": [{"outputs": [_value("a", [1.0, 2.0])], "updates": False, "after_update": False}],
    "grads": [{"error": NULL_ERROR, "after_update": False, "cost": _value("c", [3.0]),
               "params": {"W": "null", "b": "ok"}}],
    "error": {"type": "NullTypeGradError", "message": NULL_ERROR["message"], "in_grad": True},
}
FIXED = {
    "framework": "pytensor",
    "functions": [
        {"outputs": [_value("a", [1.0, 2.0])], "updates": True, "after_update": False},
        {"outputs": [_value("g", [0.5])], "updates": False, "after_update": True},
    ],
    "grads": [{"error": None, "after_update": True, "params": {"W": "ok", "b": "ok"}}],
    "error": None,
}


def test_fixed_program_is_verified():
    result = decide(BROKEN, FIXED)
    assert result["verdict"] == "verified", result["why"]
    assert result["compared"] == 1 and result["bitwise"]
    assert result["before"][1]["W"] == "null" and result["after"][1]["W"] == "ok"


def test_values_after_a_state_update_are_not_compared():
    new = copy.deepcopy(FIXED)
    new["functions"][1]["outputs"][0]["sha256"] = "other"  # after the RNG update: may differ
    assert decide(BROKEN, new)["verdict"] == "verified"


def test_different_forward_is_a_mismatch():
    new = copy.deepcopy(FIXED)
    new["functions"][0]["outputs"][0] = _value("z", [1.0, 2.5])
    result = decide(BROKEN, new)
    assert result["verdict"] == "forward-mismatch"
    assert "max abs diff 0.5" in result["why"]


def test_tiny_forward_difference_is_allclose():
    new = copy.deepcopy(FIXED)
    new["functions"][0]["outputs"][0] = _value("z", [1.0, 2.0 + 1e-12])
    result = decide(BROKEN, new)
    assert result["verdict"] == "verified-allclose"
    assert 0 < result["max_abs_diff"] < 1e-11


def test_unfixed_program_is_still_broken():
    result = decide(BROKEN, copy.deepcopy(BROKEN))
    assert result["verdict"] == "still-broken"
    assert "W (null)" in result["why"]


def test_gradient_broken_only_after_is_a_regression():
    new = copy.deepcopy(FIXED)
    new["grads"][0]["params"]["b"] = "zero"
    result = decide(FIXED, new)
    assert result["verdict"] == "regressed" and "b (zero)" in result["why"]


def test_rewritten_program_crashing_elsewhere_is_a_regression():
    new = copy.deepcopy(FIXED)
    new["error"] = {"type": "TypeError", "message": "step() takes 2 positional arguments", "in_grad": False}
    result = decide(BROKEN, new)
    assert result["verdict"] == "regressed" and "TypeError" in result["why"]


def test_no_grad_call_or_no_run_is_unverifiable():
    old, new = copy.deepcopy(BROKEN), copy.deepcopy(FIXED)
    old["grads"], old["error"] = [], None
    assert decide(old, new)["verdict"] == "unverifiable"
    result = decide({"unavailable": "timed out after 5 s"}, new)
    assert result["verdict"] == "unverifiable" and "timed out" in result["why"]


def test_cost_on_symbolic_inputs_is_unverifiable():
    new = copy.deepcopy(FIXED)
    new["grads"][0]["params"] = {"W": "built", "b": "built"}
    result = decide(BROKEN, new)
    assert result["verdict"] == "unverifiable" and "symbolic inputs" in result["why"]


def test_detects_pytensor_and_theano_programs():
    assert is_pytensor_program("import numpy as np\nimport pytensor.tensor as pt\n")
    assert is_pytensor_program("from theano.tensor.shared_randomstreams import RandomStreams\n")
    assert not is_pytensor_program("import torch\n# uses pytensor-like ideas\n")
