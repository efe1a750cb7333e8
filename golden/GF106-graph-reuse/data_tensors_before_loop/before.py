import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(0)
features = torch.from_numpy(rng.normal(size=(64, 4))).float()
targets = torch.from_numpy(rng.integers(0, 3, size=64))
features = (features - features.mean(0)) / features.std(0)
class_weights = torch.bincount(targets, minlength=3).float().reciprocal()
causal_mask = torch.tril(torch.ones(4, 4))
positions = torch.arange(4).float() / 4
model = nn.Linear(4, 3)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(5):
    opt.zero_grad()
    logits = model(features @ causal_mask + positions)
    loss = F.cross_entropy(logits, targets, weight=class_weights)
    loss.backward()
    opt.step()
