#!/usr/bin/env python3
"""Write the large-file benchmark: 1,000 copies of a 60-line training module, one GF101 finding at the end.

    python benchmarks/make_large_file.py /tmp/large.py            # 60,000 lines (+ the finding)
    python benchmarks/make_large_file.py /tmp/large.py --copies 300
    time gradfix check --no-cache /tmp/large.py                   # expect one GF101 finding

Each copy is ordinary PyTorch code that mentions what the rules' triggers look for
(``.grad``, ``backward()``, ``requires_grad=True``, ``torch.tensor(...)``, ``.data``,
``x[i] = ... x ...``, ``Normal(...).sample``) without breaking gradient flow, so every rule
parses and analyses the file: the check's cost is the cost of its largest file.
"""

from __future__ import annotations

import argparse

MODULE = '''\
class Block{n}(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.linear = nn.Linear(width, width)
        self.scale = nn.Parameter(torch.ones(width))
        self.register_buffer("steps", torch.zeros(()))

    def forward(self, x):
        h = self.linear(x) * self.scale
        h = torch.relu(h)
        mask = torch.tensor([1.0, 0.5, 0.25])
        return h + x


def make_batch{n}(size, width):
    inputs = torch.randn(size, width)
    targets = torch.randn(size, width)
    weights = torch.tensor([0.1, 0.2], dtype=torch.float32)
    return inputs, targets


def train{n}(model, steps, lr=0.01):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    history = []
    model.train()
    for step in range(steps):
        inputs, targets = make_batch{n}(8, 4)
        optimizer.zero_grad()
        loss = ((model(inputs) - targets) ** 2).mean()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
        if step % 10 == 0:
            print(step, history[-1])
    return history


def evaluate{n}(model, batches):
    total = 0.0
    model.eval()
    with torch.no_grad():
        for inputs, targets in batches:
            total += float(((model(inputs) - targets) ** 2).mean())
    return total / max(len(batches), 1)


def clip{n}(model, limit):
    """Clamp every gradient to [-limit, limit]."""
    for param in model.parameters():
        if param.grad is not None:
            param.grad.data.clamp_(-limit, limit)


def noisy{n}(mean, std):
    offsets = torch.zeros(4)
    offsets[0] = offsets[1] + 1.0
    dist = torch.distributions.Normal(mean, std)
    return dist.rsample()
'''

HEADER = "import torch\nimport torch.nn as nn\n\n\n"

FINDING = '''

def pose_matrix(angle):
    angle = torch.zeros((), requires_grad=True)
    c, s = torch.cos(angle), torch.sin(angle)
    return torch.tensor([[c, -s], [s, c]])
'''


def large_source(copies: int) -> str:
    body = "\n\n".join(MODULE.format(n=n) for n in range(copies))
    return HEADER + body + FINDING


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--copies", type=int, default=1000)
    args = parser.parse_args()
    text = large_source(args.copies)
    with open(args.path, "w", encoding="utf-8") as handle:
        handle.write(text)
    print(f"{args.path}: {text.count(chr(10))} lines")


if __name__ == "__main__":
    main()
