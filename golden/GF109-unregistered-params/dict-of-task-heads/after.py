import torch
from torch import nn


class MultiTaskNet(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(dim, 64), nn.ReLU())
        self.heads = nn.ModuleDict({
            "depth": nn.Linear(64, 1),
            "segmentation": nn.Linear(64, 10),
            "normals": nn.Linear(64, 3),
        })

    def forward(self, x):
        features = self.trunk(x)
        return {task: head(features) for task, head in self.heads.items()}


def train_step(model, optimizer, batch, criteria):
    outputs = model(batch["x"])
    loss = sum(criteria[task](outputs[task], batch[task]) for task in outputs)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
