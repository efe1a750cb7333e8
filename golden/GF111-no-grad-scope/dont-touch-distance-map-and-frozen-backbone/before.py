import numpy as np
import torch
import torch.nn as nn
from scipy.ndimage import distance_transform_edt


def distance_map(mask):
    return torch.from_numpy(np.stack([distance_transform_edt(m) for m in mask.cpu().numpy()])).float()


backbone = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU())
head = nn.Conv2d(8, 2, 1)
backbone.requires_grad_(False)
optimizer = torch.optim.Adam(head.parameters(), lr=1e-3)


def training_step(image, mask):
    with torch.no_grad():
        features = backbone(image)
        dist = distance_map(mask)
    probs = head(features).softmax(dim=1)[:, 1]
    loss = (probs * dist).mean() + nn.functional.binary_cross_entropy(probs, mask.float())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
