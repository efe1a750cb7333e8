"""Expert training code that cuts gradients on purpose must get no finding from any rule.

``tests/expert_code/`` holds runnable training programs in the shapes expert code takes:
GAN discriminator steps on ``fake.detach()`` and WGAN clipping, DQN target networks, a
frozen teacher, EMA and BYOL's stop-gradient, truncated BPTT, ``.item()`` as a constant in
actor-critic losses, REINFORCE, a diffusion variance term through a detached mean and
self-conditioning, MAML's inner loop, fp16 master weights, manual SGD, metrics and early
stopping, a Lightning-style ``training_step``. Every rule, with unsafe fixes, must stay
silent on all of them; and they must run (they are real programs, not fragments).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gradfix.engine import Settings, check_source
from test_core_rules_runtime import _RUNNER

PROGRAMS = sorted((Path(__file__).resolve().parent / "expert_code").glob("*.py"))


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_no_rule_reports_intended_cuts(program):
    settings = Settings.from_codes(None, None, unsafe_fixes=True)
    result = check_source(program.read_text(encoding="utf-8"), str(program), settings, fix=False)
    assert [f"{d.line}:{d.column} {d.code} {d.message}" for d in result.diagnostics] == []


def test_the_programs_run(tmp_path):
    argv = []
    for n, program in enumerate(PROGRAMS):
        argv += [str(program), str(tmp_path / f"{n}.out"), str(tmp_path / f"{n}.err")]
    env = {**os.environ, "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", _RUNNER, *argv], capture_output=True, text=True, env=env, timeout=300)
    codes = [int(line) for line in done.stdout.split()]
    assert len(codes) == len(PROGRAMS), done.stderr
    failed = {p.name: (tmp_path / f"{n}.err").read_text()[-500:] for n, (p, c) in enumerate(zip(PROGRAMS, codes)) if c}
    assert failed == {}
