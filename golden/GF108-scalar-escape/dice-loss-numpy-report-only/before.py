import numpy as np
import torch
from torch import nn


def dice_loss(logits, mask, eps=1e-6):
    prob = torch.sigmoid(logits).detach().cpu().numpy()
    target = mask.cpu().numpy()
    intersection = np.sum(prob * target)
    dice = (2.0 * intersection + eps) / (np.sum(prob) + np.sum(target) + eps)
    return torch.tensor(1.0 - dice, requires_grad=True)


net = nn.Conv2d(1, 1, 3, padding=1)
optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
for step in range(10):
    image = torch.randn(2, 1, 8, 8)
    mask = (torch.rand(2, 1, 8, 8) > 0.5).float()
    loss = dice_loss(net(image), mask)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
