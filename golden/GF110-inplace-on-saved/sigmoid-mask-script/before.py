import torch
from torch import nn

torch.manual_seed(0)
head = nn.Linear(4, 6)
features = torch.randn(3, 4)
target = torch.rand(3, 6)

# keep only confident probabilities
probs = torch.sigmoid(head(features))
probs[probs < 0.5] = 0
print("FORWARD", repr(probs.tolist()))

loss = ((probs - target) ** 2).mean()
loss.backward()
print("GRAD head.weight", None if head.weight.grad is None else repr(head.weight.grad.tolist()))
