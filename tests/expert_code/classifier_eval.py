"""A classifier's train/validate loop: metrics, early stopping, checkpoints, an EWC anchor."""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

torch.manual_seed(0)


class Block(nn.Module):
    """A residual block in the torchvision style."""

    def __init__(self, c):
        super().__init__()
        self.fc1 = nn.Linear(c, c)
        self.bn1 = nn.BatchNorm1d(c)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(c, c)
        self.bn2 = nn.BatchNorm1d(c)

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.fc1(x)))
        out = self.bn2(self.fc2(out))
        out += identity
        return self.relu(out)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Linear(6, 8)
        self.blocks = nn.ModuleList([Block(8) for _ in range(2)])
        self.head = nn.Linear(8, 3)

    def forward(self, x, mask=None):
        h = F.relu(self.stem(x))
        for block in self.blocks:
            h = checkpoint(block, h, use_reentrant=False)
        scores = self.head(h)
        if mask is not None:
            scores = scores.masked_fill(mask, float("-inf"))
        safe = torch.where(h.sum(-1, keepdim=True) > 0, torch.sqrt(h.abs().clamp(min=1e-6)), h)
        return scores + 0 * safe.sum()


model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.05)
old_params = copy.deepcopy(model.state_dict())
best, patience, bad = float("inf"), 2, 0
x_all, y_all = torch.randn(32, 6), torch.randint(0, 3, (32,))
for epoch in range(3):
    model.train()
    for i in range(0, 32, 8):
        x, y = x_all[i:i + 8].clone(), y_all[i:i + 8]
        x[x.abs() > 3] = 0  # clean the batch
        logits = model(x)
        ewc = sum(((p - old_params[n]) ** 2).sum() for n, p in model.named_parameters())
        loss = F.cross_entropy(logits, y) + 1e-3 * ewc
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    correct, val_loss = 0, 0.0
    with torch.no_grad():
        logits = model(x_all)
        val_loss = F.cross_entropy(logits, y_all).item()
        preds = logits.argmax(dim=1)
        correct += (preds == y_all).sum().item()
        probs = F.softmax(logits, dim=1).cpu().numpy()
    acc = correct / len(y_all)
    confidence = float(np.max(probs, axis=1).mean())
    if val_loss < best:
        best, bad = val_loss, 0
        torch.save(model.state_dict(), "/dev/null")
    else:
        bad += 1
        if bad > patience:
            break
    print(epoch, round(val_loss, 4), acc, round(confidence, 3))
