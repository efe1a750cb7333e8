import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(0)


class HardSelect(nn.Module):
    """Picks one codebook row per input."""

    def __init__(self, d, n):
        super().__init__()
        self.scorer = nn.Linear(d, n)
        self.codebook = nn.Parameter(torch.randn(n, d))

    def forward(self, x):
        logits = self.scorer(x)
        choice = F.one_hot(logits.argmax(-1), num_classes=logits.shape[-1]).float()
        return choice @ self.codebook


model = HardSelect(4, 5)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x, target = torch.randn(7, 4), torch.randn(7, 4)
out = model(x)
loss = F.mse_loss(out, target)
print("FORWARD", repr(out.tolist()))
optimizer.zero_grad()
loss.backward()
print("GRAD scorer.weight", None if model.scorer.weight.grad is None else repr(model.scorer.weight.grad.tolist()))
optimizer.step()
