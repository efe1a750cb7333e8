"""GF201 and PT301 detect on ``ast``: `gradfix check` decides each finding's fix (the `[*]`
marker) without parsing LibCST, and a fix judged possible is always built."""

from __future__ import annotations

import textwrap

import pytest

import gradfix.engine as engine
from gradfix.engine import Settings, check_source, fix_source
from golden_cases import load_cases

CASES = [c for c in load_cases() if c.code in ("GF201", "PT301")]


@pytest.fixture
def no_libcst(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("check parsed the file with LibCST")

    monkeypatch.setattr(engine.cst, "parse_module", refuse)


def _check(source: str, code: str = "PT301"):
    return check_source(source, "case.py", Settings.from_codes([code], None, unsafe_fixes=True), fix=False).diagnostics


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_check_marks_fixes_without_libcst(case, no_libcst):
    found = _check(case.before, case.code)
    marks = {d.fix_applicability for d in found}
    if case.after is not None:
        assert found and marks == {"unsafe" if case.unsafe_fixes else "safe"}
    elif case.report_only:
        assert found and marks == {None}
    else:
        assert found == []


HEADER = """\
import pytensor
import pytensor.tensor as pt
from pytensor.tensor.random.utils import RandomStream

srng = RandomStream(seed=0)
xs = pt.matrix("xs")
"""
SCAN = "hs, _ = pytensor.scan(step, sequences=[xs], outputs_info=[pt.zeros(2)])\n"
STEP = "def step(x_t, h):\n    return h + x_t + srng.normal(size=(2,))\n"

REFUSED = {
    "until": ("def step(x_t, h):\n    h = h + srng.normal(size=(2,))\n    return h, until(h.sum() > 3)\n" + SCAN,
              "the scan may stop early (`until`)"),
    "taps": (STEP + SCAN.replace("[xs]", "[dict(input=xs, taps=[-1])]"), "a sequence has taps"),
    "negative n_steps": (STEP.replace("x_t, h", "h").replace("x_t + ", "")
                         + "hs, _ = pytensor.scan(step, outputs_info=[pt.zeros(2)], n_steps=-3)\n", "`n_steps` may be negative"),
    "keyword-only parameter": (STEP.replace("x_t, h", "x_t, h, *, k=1") + SCAN, "`step` has a signature the rewrite does not follow"),
    "defaults": (STEP.replace("x_t, h", "x_t=None, h=None") + SCAN, "`step` takes fewer parameters than the scan passes"),
    "draw in a conditional expression": (
        "train = True\ndef step(x_t, h):\n    return h + x_t + (srng.normal(size=(2,)) if train else 0)\n" + SCAN,
        "a draw is conditional or repeated within a step"),
    "helper called twice": (
        "def noisy(v):\n    return v + srng.normal(size=(2,))\n\ndef step(x_t, h):\n    return noisy(h) + noisy(x_t)\n" + SCAN,
        "`noisy` is called from more than the step"),
    "size computed in the step": ("def step(x_t, h):\n    n = 2\n    return h + x_t + srng.normal(size=(n,))\n" + SCAN,
                                  "the draw's arguments depend on `n`, computed inside the step"),
    "stream shadowed at the scan": (STEP + "def build(xs):\n    srng = None\n    " + SCAN + "    return hs\n",
                                    "`srng` means something else where the scan is called"),
    "scan on an if line": (STEP + "if True: " + SCAN, "the scan call is not a plain statement"),
    "scan in a lambda": (STEP + "f = lambda: pytensor.scan(step, sequences=[xs])\n", "the scan call is not a plain statement"),
    "scan line draws": (STEP + SCAN.replace("pt.zeros(2)", "srng.normal(size=(2,))"),
                        "the scan statement draws random numbers itself"),
    "stream used for more": (
        "def step(x_t, h):\n    s = RandomStream(seed=3)\n    e = s.normal(size=(2,))\n    print(s)\n    return h + x_t + e\n" + SCAN,
        "`s` is used for more than the step's draws"),
    "step passed elsewhere": (STEP + SCAN + "register(callback=step)\n", "`step` is also used elsewhere"),
    "step kept elsewhere": (STEP + SCAN + "STEPS = {'noisy': step}\n", "`step` is also used elsewhere"),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_refusals_are_decided_at_detection(name, no_libcst):
    source, reason = REFUSED[name]
    found = _check(HEADER + source)
    assert len(found) == 1 and found[0].fix_applicability is None
    assert found[0].message.endswith(f"(not rewritten: {reason})")


FIXABLE = {
    "after a semicolon": (STEP + "a = 1; " + SCAN, "a = 1; hs, _ = pytensor.scan(step, sequences=[xs, eps_seq]"),
    "parenthesized draw and scan": (
        "def step(x_t, h):\n    e = (srng.normal(size=(2,)))\n    return h + x_t + e\n" + "hs, _ = (" + SCAN.strip()[8:] + ")\n",
        "e_seq = (srng.normal(size=(xs.shape[0], 2)))"),
    "non-ASCII text on the lines": (
        "def step(x_t, h):\n    e = srng.normal(size=(2,))  # bruit é\n    return h + x_t + e\n" + "é = 1; " + SCAN,
        "def step(x_t, e, h):\n    return h + x_t + e\n"),
    "stream made in the step": (
        "def step(x_t, h):\n    s = RandomStream(seed=3)\n    e = s.normal(size=(2,))\n    return h + x_t + e\n" + SCAN,
        "s = RandomStream(seed=3)\ne_seq = s.normal(size=(xs.shape[0], 2))\n"),
    "noise name also unpacked": (
        "def step(x_t, h):\n    eps, k = h, 1\n    eps = srng.normal(size=(2,))\n    return h + x_t + eps * k\n" + SCAN,
        "def step(x_t, eps_2, h):\n    eps, k = h, 1\n    eps = eps_2\n"),
}


@pytest.mark.parametrize("name", list(FIXABLE))
def test_a_fix_judged_possible_is_built(name):
    source, expected = FIXABLE[name]
    source = HEADER + source
    found = _check(source)
    assert len(found) == 1 and found[0].fix_applicability == "safe"
    fixed = fix_source(source, "case.py", select=["PT301"])
    assert expected in fixed, fixed
    assert _check(fixed) == []


def test_gf201_reports_through_an_augmented_loss(no_libcst):
    source = textwrap.dedent(
        """\
        import torch
        gru = torch.nn.GRU(2, 3, batch_first=True)
        y, _ = gru(torch.randn(1, 4, 2))
        y.retain_grad()
        loss = 0.0
        loss += y[:, -1].sum()
        loss.backward()
        print(y.grad[:, 0], y.grad[:, -1])
        """
    )
    found = _check(source, "GF201")
    assert [(d.line, d.column) for d in found] == [(8, 7)]
    assert found[0].message.startswith("`y.grad[:, 0]` reads slots the loss never used (it reads only `y[:, -1]`)")
