import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

torch.manual_seed(0)
embed = nn.Embedding(20, 8)
embed.requires_grad_(False)  # pretrained vectors, kept fixed
block = nn.Sequential(nn.Linear(8, 8), nn.GELU(), nn.Linear(8, 8))
head = nn.Linear(8, 3)

tokens = torch.randint(0, 20, (4, 6))
labels = torch.randint(0, 3, (4,))
h = embed(tokens)
h = checkpoint(block, h, use_reentrant=False)
logits = head(h.mean(dim=1))
loss = nn.functional.cross_entropy(logits, labels)
print("FORWARD", repr(logits.tolist()))
loss.backward()
for name, param in block.named_parameters():
    print("GRAD", "block." + name, None if param.grad is None else repr(param.grad.tolist()))
