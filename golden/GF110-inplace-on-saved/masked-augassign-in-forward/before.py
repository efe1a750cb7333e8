import torch
from torch import nn


class Scorer(nn.Module):
    """Scores items; flagged items count double."""

    def __init__(self, width):
        super().__init__()
        self.proj = nn.Linear(width, 1)

    def forward(self, items, flagged):
        scores = torch.exp(self.proj(items).squeeze(-1))
        scores[flagged] *= 2.0
        return scores


torch.manual_seed(0)
model = Scorer(5)
items = torch.randn(8, 5)
flagged = torch.tensor([True, False, False, True, False, True, False, False])
target = torch.rand(8)
scores = model(items, flagged)
print("FORWARD", repr(scores.tolist()))
loss = ((scores - target) ** 2).mean()
loss.backward()
print("GRAD proj.weight", None if model.proj.weight.grad is None else repr(model.proj.weight.grad.tolist()))
