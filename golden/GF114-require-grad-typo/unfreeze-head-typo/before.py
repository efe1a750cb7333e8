import torch
from torch import nn
import torch.nn.functional as F


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(6, 8), nn.Tanh())
        self.adapter = nn.Linear(8, 8)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        h = self.body(x)
        return self.head(h + self.adapter(h))


torch.manual_seed(0)
model = Classifier()
model.requires_grad_(False)
for p in model.adapter.parameters():
    p.requires_grad = True
for p in model.head.parameters():
    p.require_grad = True

x = torch.randn(5, 6)
labels = torch.tensor([0, 2, 1, 1, 0])
logits = model(x)
print("FORWARD", repr(logits.tolist()))
loss = F.cross_entropy(logits, labels)
loss.backward()
for name, p in model.head.named_parameters():
    print("GRAD", "head." + name, None if p.grad is None else repr(p.grad.tolist()))
