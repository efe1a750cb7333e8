import torch
import torch.utils as tu
from torch import nn

torch.manual_seed(0)
encoder = nn.Linear(6, 8)
for param in encoder.parameters():
    param.requires_grad_(False)  # a frozen pretrained encoder
adapter = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 8))
head = nn.Linear(8, 2)

features = encoder(torch.randn(5, 6))
hidden = tu.checkpoint.checkpoint(adapter, features.detach(), use_reentrant=False)
logits = head(hidden)
loss = nn.functional.cross_entropy(logits, torch.tensor([0, 1, 1, 0, 1]))
print("FORWARD", repr(logits.tolist()))
loss.backward()
for name, param in adapter.named_parameters():
    print("GRAD", "adapter." + name, None if param.grad is None else repr(param.grad.tolist()))
