import numpy as np
import torch


def load_batch(images, labels, num_classes):
    x = torch.from_numpy(images).float()
    x /= 255.0
    x -= x.mean()
    onehot = torch.zeros(len(labels), num_classes)
    onehot[torch.arange(len(labels)), labels] = 1
    mask = torch.ones(len(labels))
    mask[labels < 0] = 0
    return x, onehot, mask


weights = torch.randn(10, 3, requires_grad=True)
x, onehot, mask = load_batch(np.zeros((2, 10), dtype=np.uint8), np.array([0, 1]), 3)
scores = x @ weights
scores = scores * mask[:, None]
scores.sum().backward()
