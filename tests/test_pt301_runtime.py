"""PT301 at run time: the rewritten PyTensor programs differentiate, forward bitwise equal.

Every program runs in a subprocess under the PyTensor verifier backend with
``PYTENSOR_FLAGS=mode=FAST_COMPILE,cxx=`` (its default: nothing is compiled, so a run
takes seconds; both versions of a program always run under the same flags). The pairs
run in parallel, once per session.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("pytensor", reason="PT301 runtime tests need PyTensor: pip install 'gradfix[pytensor]'")

from golden_cases import load_cases  # noqa: E402

from gradfix.engine import fix_source  # noqa: E402
from gradfix.verify.pytensor_backend import DEFAULT_FLAGS, verify_pytensor_pair  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
RUNNABLE = [c for c in load_cases() if c.code == "PT301" and c.verdict is not None]


def _non_sequences_variant(after: str) -> str:
    """The post's own fix applied to the helper-sampler case: ONE (BATCH, N_LAT) draw passed
    as a non-sequence, reused at every step."""
    text = after.replace("def iter_step(x_step, dev, h):", "def iter_step(x_step, h, dev):")
    text = text.replace("srng.normal(size=(x.shape[0], BATCH, N_LAT))", "srng.normal(size=(BATCH, N_LAT))")
    text = text.replace("sequences=[x, dev_seq],", "sequences=[x],\n    non_sequences=[dev_seq],")
    assert text.count("non_sequences=[dev_seq]") == 1 and "def iter_step(x_step, h, dev)" in text
    return text


@pytest.fixture(scope="session")
def results(tmp_path_factory):
    """Verifier results, by name: every runnable golden pair, an unfixed copy, the
    non_sequences variant, and the acceptance program (not a golden case) with its rewrite."""
    tmp = tmp_path_factory.mktemp("pt301")
    helper = next(c for c in RUNNABLE if c.folder.name == "pytensor-helper-sampler")
    (tmp / "non_sequences.py").write_text(_non_sequences_variant(helper.after))
    acceptance = (DATA / "pt301_acceptance_vrnn.py").read_text()
    (tmp / "acceptance_after.py").write_text(fix_source(acceptance, "acceptance.py", select=["PT301"]))
    pairs = {c.folder.name: (c.folder / "before.py", c.folder / "after.py") for c in RUNNABLE}
    pairs["unfixed"] = (helper.folder / "before.py", helper.folder / "before.py")
    pairs["non_sequences"] = (helper.folder / "before.py", tmp / "non_sequences.py")
    pairs["acceptance"] = (DATA / "pt301_acceptance_vrnn.py", tmp / "acceptance_after.py")
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(verify_pytensor_pair, str(a), str(b), timeout=600) for name, (a, b) in pairs.items()}
        return {name: future.result() for name, future in futures.items()}


def test_there_are_runnable_cases():
    assert len(RUNNABLE) >= 5


@pytest.mark.parametrize("case", RUNNABLE, ids=[c.folder.name for c in RUNNABLE])
def test_rewrite_restores_gradients_with_bitwise_forward(case, results):
    result = results[case.folder.name]
    assert result["verdict"] == case.verdict, result["report"]
    old, new = result["records"]["old"], result["records"]["new"]
    # Before: grad raised NullTypeGradError and at least one parameter had a null gradient.
    assert old["error"]["type"] == "NullTypeGradError" and old["error"]["in_grad"]
    assert "null" in result["before"][1].values()
    # After: every float shared parameter of the cost has a finite, nonzero gradient.
    assert new["error"] is None
    assert set(result["after"][1]) == set(result["before"][1]) and len(result["after"][1]) >= 2
    assert set(result["after"][1].values()) == {"ok"}
    # Forward: compared bitwise, and something was compared.
    assert result["compared"] >= 1 and result["bitwise"]


def test_unfixed_copy_is_still_broken(results):
    assert results["unfixed"]["verdict"] == "still-broken", results["unfixed"]["report"]


def test_single_draw_as_non_sequence_changes_the_forward(results):
    result = results["non_sequences"]
    assert result["verdict"] == "forward-mismatch", result["report"]
    # It does fix the gradient: the mismatch, not a crash, is what rejects it.
    assert set(result["records"]["new"]["grads"][0]["params"].values()) == {"ok"}


def test_acceptance_program_outside_the_golden_files(results):
    source = (DATA / "pt301_acceptance_vrnn.py").read_text()
    assert fix_source(source, "acceptance.py", select=["PT301"]) != source
    result = results["acceptance"]
    assert result["verdict"] == "verified", result["report"]
    assert sorted(result["after"][1]) == ["W_hh", "W_ls", "W_mu", "W_xh", "W_zx", "b_h"]
    assert set(result["after"][1].values()) == {"ok"}


_SPLIT_CHECK = textwrap.dedent(
    """
    import numpy as np, pytensor, pytensor.tensor as pt
    from pytensor.tensor.random.utils import RandomStream
    for method, size, steps in [("normal", (3,), 4), ("normal", (2, 5), 3), ("uniform", (7,), 5),
                                ("normal", (1, 17), 2)]:
        draw = lambda s, shape: getattr(s, method)(size=shape)
        stream = RandomStream(seed=123)
        per_step, _ = pytensor.scan(lambda: draw(stream, size), n_steps=steps)
        whole = draw(RandomStream(seed=123), (steps, *size))
        a, b = pytensor.function([], per_step)(), pytensor.function([], whole)()
        print(method, size, steps, a.tobytes() == b.tobytes())
    """
)


def test_one_draw_with_a_steps_dimension_equals_the_per_step_draws(tmp_path):
    """The fact the rewrite stands on: a (T, ...) draw from a stream with the same seed gives
    bitwise the numbers of T sequential (...) draws inside a scan."""
    script = tmp_path / "split.py"
    script.write_text(_SPLIT_CHECK)
    env = {**os.environ, "PYTENSOR_FLAGS": DEFAULT_FLAGS}
    done = subprocess.run([sys.executable, "-W", "ignore", str(script)], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 4 and all(re.search(r"True$", line) for line in lines), done.stdout
