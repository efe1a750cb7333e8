# %% [markdown]
# Fine-tune a small head on top of frozen backbone features.

# %%
import torch
import torch.utils.checkpoint
from torch import nn

torch.manual_seed(0)
backbone = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
adapter = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8))
classifier = nn.Linear(8, 2)

# %%
images = torch.randn(4, 3, 8, 8)
with torch.no_grad():
    feats = backbone(images)

# %%
z = torch.utils.checkpoint.checkpoint(
    adapter,
    feats,
)
scores = classifier(z)
print("FORWARD", repr(scores.tolist()))
scores.logsumexp(dim=1).mean().backward()
print("GRAD adapter.0.weight", None if adapter[0].weight.grad is None else repr(adapter[0].weight.grad.tolist()))
