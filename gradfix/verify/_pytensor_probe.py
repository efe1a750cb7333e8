"""Run one PyTensor (or legacy Theano) program and record what the verifier compares.

Usage: python _pytensor_probe.py PROGRAM.py OUT.json

This file runs in the user's Python, in a subprocess of its own: it imports nothing from
gradfix and only the standard library, numpy and pytensor (or theano). It seeds ``random``
and numpy, then runs the program as ``__main__`` with two hooks in place:

- every call of a compiled function (``Function.__call__``) records its outputs, and whether
  it or an earlier call updated shared state (a random stream's default update counts:
  after it, the two programs may legitimately draw different numbers);
- every top-level ``grad(cost, wrt)`` call records whether it raised (type and a stable
  message prefix), the cost's value, and for every float shared variable the cost depends
  on whether its gradient is null, disconnected, zero, non-finite or finite and nonzero.

The probe's own evaluations use ``no_default_updates=True`` so they consume no random
numbers and leave the program's state as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import runpy
import sys

MAX_VALUES = 200_000  # per output; larger arrays are compared by digest only
MESSAGE_PREFIX = 160


def _load_library():
    try:
        import pytensor as lib  # noqa: F401

        from pytensor.compile.sharedvalue import SharedVariable
        from pytensor.graph.basic import Constant, graph_inputs
        from pytensor.graph.null_type import NullType
        import pytensor.gradient as gradient

        return "pytensor", lib, gradient, SharedVariable, Constant, graph_inputs, NullType
    except ImportError:
        import theano as lib  # type: ignore[no-redef]

        from theano.compile.sharedvalue import SharedVariable  # type: ignore[no-redef]
        from theano.gof.graph import Constant, inputs as graph_inputs  # type: ignore[no-redef]
        from theano.gradient import NullType  # type: ignore[no-redef]
        import theano.gradient as gradient  # type: ignore[no-redef]

        return "theano", lib, gradient, SharedVariable, Constant, graph_inputs, NullType


def _array_record(value) -> dict:
    import numpy as np

    array = np.asarray(value)
    digest = hashlib.sha256(
        f"{array.dtype.str}{array.shape}".encode() + np.ascontiguousarray(array).tobytes()
    ).hexdigest()
    record = {"dtype": array.dtype.str, "shape": list(array.shape), "sha256": digest, "values": None}
    if array.dtype.kind in "biuf" and array.size <= MAX_VALUES:
        record["values"] = array.astype("float64").ravel().tolist()
    return record


def _stable(exc: BaseException) -> str:
    """The message's first line, without memory addresses, cut to a prefix."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return re.sub(r"0x[0-9A-Fa-f]+", "0x...", text)[:MESSAGE_PREFIX]


def main(program: str, out_path: str) -> int:
    random.seed(0)
    import numpy as np

    np.random.seed(0)
    framework, lib, gradient, SharedVariable, Constant, graph_inputs, NullType = _load_library()
    record: dict = {"framework": framework, "functions": [], "grads": [], "error": None}
    # quiet: inside the probe's own work; updated: a compiled function has changed shared
    # state (parameters, random generators) since the program started.
    state = {"quiet": 0, "grad_errors": set(), "updated": False}

    original_grad = gradient.grad
    original_function = lib.function
    function_class = type(original_function([], lib.tensor.constant(0.0)))
    original_call = function_class.__call__

    def recorded_call(self, *args, **kwargs):
        outputs = original_call(self, *args, **kwargs)
        if not state["quiet"]:
            values = outputs if isinstance(outputs, (list, tuple)) else [outputs]
            updates = any(getattr(i, "update", None) is not None for i in self.maker.inputs)
            record["functions"].append(
                {"outputs": [_array_record(v) for v in values], "updates": updates, "after_update": state["updated"]}
            )
            state["updated"] = state["updated"] or updates
        return outputs

    def quiet_eval(outputs):
        state["quiet"] += 1
        try:
            fn = original_function([], outputs, no_default_updates=True, on_unused_input="ignore")
            return fn()
        finally:
            state["quiet"] -= 1

    def inspect(cost, call: dict) -> None:
        inputs = list(graph_inputs([cost]))
        free = [v for v in inputs if not isinstance(v, (SharedVariable, Constant))]
        params, unnamed = [], 0
        for v in inputs:
            if isinstance(v, SharedVariable) and str(getattr(v.type, "dtype", "")).startswith("float"):
                if v.name:
                    name = v.name
                else:
                    unnamed += 1
                    name = f"shared#{unnamed}"
                params.append((name, v))
        call["params"] = {}
        call["free_inputs"] = [str(v) for v in free]
        if not free:
            try:
                call["cost"] = _array_record(quiet_eval(cost))
            except Exception as exc:  # the probe must not hide the program's own outcome
                call["cost_error"] = f"{type(exc).__name__}: {_stable(exc)}"
        symbolic = []
        try:
            grads = original_grad(
                cost, [v for _, v in params],
                disconnected_inputs="ignore", return_disconnected="none", null_gradients="return",
            ) if params else []
        except Exception as exc:
            grads = [None] * len(params)
            for name, _ in params:
                call["params"][name] = f"error: {type(exc).__name__}: {_stable(exc)}"
        for (name, _), g in zip(params, grads):
            if name in call["params"]:
                continue
            if g is None:
                call["params"][name] = "disconnected"
            elif isinstance(g.type, NullType):
                call["params"][name] = "null"
            else:
                symbolic.append((name, g))
        if not symbolic:
            return
        if free:
            for name, _ in symbolic:
                call["params"][name] = "built"
            return
        try:
            values = quiet_eval([g for _, g in symbolic])
        except Exception as exc:
            for name, _ in symbolic:
                call["params"][name] = f"error: {type(exc).__name__}: {_stable(exc)}"
            return
        for (name, _), value in zip(symbolic, values):
            value = np.asarray(value)
            if not np.all(np.isfinite(value)):
                call["params"][name] = "nonfinite"
            elif not np.any(value):
                call["params"][name] = "zero"
            else:
                call["params"][name] = "ok"

    def recorded_grad(cost, wrt, *args, **kwargs):
        if state["quiet"]:
            return original_grad(cost, wrt, *args, **kwargs)
        call: dict = {"error": None, "after_update": state["updated"]}
        record["grads"].append(call)
        state["quiet"] += 1  # grad's own internals and the inspection are not the program's
        try:
            try:
                result = original_grad(cost, wrt, *args, **kwargs)
            except Exception as exc:
                call["error"] = {"type": type(exc).__name__, "message": _stable(exc)}
                state["grad_errors"].add(id(exc))
                raise
            finally:
                try:
                    inspect(cost, call)
                except Exception as exc:
                    call["inspect_error"] = f"{type(exc).__name__}: {_stable(exc)}"
        finally:
            state["quiet"] -= 1
        return result

    function_class.__call__ = recorded_call
    for module in (lib, gradient, getattr(lib, "tensor", None)):
        if module is not None and getattr(module, "grad", None) is original_grad:
            module.grad = recorded_grad

    sys.argv = [program]
    sys.path.insert(0, os.path.dirname(os.path.abspath(program)))
    try:
        runpy.run_path(program, run_name="__main__")
    except SystemExit as exc:
        if exc.code not in (None, 0):
            record["error"] = {"type": "SystemExit", "message": str(exc.code), "in_grad": False}
    except BaseException as exc:  # noqa: BLE001  (the outcome is the record)
        record["error"] = {
            "type": type(exc).__name__,
            "message": _stable(exc),
            "in_grad": id(exc) in state["grad_errors"],
        }
    finally:
        with open(out_path, "w", encoding="utf-8") as handle:
            json.dump(record, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
