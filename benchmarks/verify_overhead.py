"""Benchmark (not a test): the verifier's overhead against plain runs of the same scripts.

Measures the wall time of ``gradfix verify OLD NEW`` against two plain ``python`` runs
(``python OLD; python NEW``, one after the other: what a user would otherwise do), for
each workload, several times interleaved; prints min and median, and the ratio of the
medians. The goal is a ratio of at most 1.25.

Workloads: a seed-shaped pair from tests/verify_cases (startup-dominated), and a
generated training loop (an MLP trained for many Adam steps, so the per-backward cost of
recording shows).

    python benchmarks/verify_overhead.py [--repeat 5] [--steps 400] [--python PY]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LOOP = '''\
import torch
from torch import nn

model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
x, y = torch.randn(256, 32), torch.randn(256, 1)
for step in range({steps}):
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(x){detach}, y)
    loss.backward()
    opt.step()
print(float(loss))
'''


def timed(cmd: list[str], env: dict, cpu: list[float]) -> float:
    """Wall seconds of ``cmd``; its CPU seconds (user + system, children included) go to ``cpu``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1):
        raise SystemExit("command failed (%d): %s" % (proc.returncode, " ".join(cmd)))
    return elapsed


def measure(name: str, old: str, new: str, python: str, repeat: int) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")
    plain, verify, plain_cpu, verify_cpu = [], [], [], []
    for _ in range(repeat):
        plain.append(timed([python, old], env, plain_cpu) + timed([python, new], env, plain_cpu))
        verify.append(timed([sys.executable, "-m", "gradfix", "verify", old, new, "--python", python], env, verify_cpu))
    ratio = statistics.median(verify) / statistics.median(plain)
    cpu_ratio = sum(verify_cpu) / sum(plain_cpu)
    print("%-26s wall: two plain runs min %.2fs median %.2fs | gradfix verify min %.2fs median %.2fs | "
          "ratio %.2fx (CPU time ratio %.2fx)"
          % (name, min(plain), statistics.median(plain), min(verify), statistics.median(verify), ratio, cpu_ratio))
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--python", default=sys.executable, help="the interpreter that runs the scripts")
    args = parser.parse_args()
    case = ROOT / "tests" / "verify_cases" / "planar_flow_data"
    ratios = [measure("seed 000 pair", str(case / "old.py"), str(case / "new.py"), args.python, args.repeat)]
    with tempfile.TemporaryDirectory() as tmp:
        old, new = Path(tmp, "loop_old.py"), Path(tmp, "loop_new.py")
        old.write_text(LOOP.format(steps=args.steps, detach=""))
        new.write_text(LOOP.format(steps=args.steps, detach=" * 1.0"))
        ratios.append(measure("training loop, %d steps" % args.steps, str(old), str(new), args.python, args.repeat))
    print("cores: %s; goal: ratio <= 1.25; worst: %.2fx" % (os.cpu_count(), max(ratios)))


if __name__ == "__main__":
    main()
