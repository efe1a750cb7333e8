import torch
from torch import nn
import torch.nn.functional as F


class Scorer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        logits = self.fc(x)
        probs = torch.softmax(logits, dim=-1)
        arr = probs
        return arr


torch.manual_seed(0)
model = Scorer()
x = torch.randn(6, 3)
y = torch.tensor([0, 1, 1, 0, 1, 0])
out = model(x)
loss = F.nll_loss(torch.log(out), y)
print("FORWARD", repr(loss.item()))
loss.backward()
print("GRAD fc.weight", None if model.fc.weight.grad is None else repr(model.fc.weight.grad.tolist()))
