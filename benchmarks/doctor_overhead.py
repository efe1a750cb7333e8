"""Benchmark (not a test): what ``gradfix doctor`` costs against a plain run of the same script.

Runs a small training script (an MLP, Adam, a logged ``loss.item()`` and an intended
``detach()`` each step: a clean report) as ``python train.py``
and as ``gradfix doctor train.py --max-backward N`` with N above the step count (doctor
watches every step: its normal default stops after 20 backward calls), several times
interleaved; prints min and median wall times and the ratio of the medians. The goal is a
ratio under 3.

    python benchmarks/doctor_overhead.py [--repeat 5] [--steps 300] [--python PY]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = '''\
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
probe = nn.Linear(64, 1)  # a probe head on detached features (intended: nothing to report)
opt = torch.optim.Adam(list(model.parameters()) + list(probe.parameters()), lr=1e-3)
x, y = torch.randn(256, 32), torch.randn(256, 1)
for step in range({steps}):
    opt.zero_grad()
    h = torch.relu(model[0](x))
    out = model(x)
    loss = nn.functional.mse_loss(out, y) + probe(h.detach()).pow(2).mean() * 0.0
    loss.backward()
    opt.step()
    if step % 10 == 0:
        print(step, loss.item())
'''


def timed(cmd: list[str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "train.py"
        script.write_text(SCRIPT.format(steps=args.steps))
        plain_cmd = [args.python, str(script)]
        doctor_cmd = [args.python, "-m", "gradfix", "doctor", str(script), "--python", args.python,
                      "--max-backward", str(args.steps + 1)]
        plain, doctor = [], []
        for _ in range(args.repeat):
            plain.append(timed(plain_cmd, tmp))
            doctor.append(timed(doctor_cmd, tmp))
    ratio = statistics.median(doctor) / statistics.median(plain)
    print("small training script, %d steps, %d runs each" % (args.steps, args.repeat))
    print("  python train.py          min %.2fs  median %.2fs" % (min(plain), statistics.median(plain)))
    print("  gradfix doctor train.py  min %.2fs  median %.2fs" % (min(doctor), statistics.median(doctor)))
    print("  ratio of medians: %.2fx (goal: under 3x)" % ratio)


if __name__ == "__main__":
    main()
