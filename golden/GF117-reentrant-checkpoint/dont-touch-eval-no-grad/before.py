import torch
from torch import nn
from torch.utils.checkpoint import checkpoint


@torch.no_grad()
def evaluate(model, loader):
    model.eval()
    correct = 0
    for images, labels in loader:
        logits = checkpoint(model, images, use_reentrant=True)
        correct += (logits.argmax(dim=1) == labels).sum().item()
    return correct


def predict(model, batch):
    with torch.no_grad():
        return checkpoint(model.backbone, batch["pixels"])
