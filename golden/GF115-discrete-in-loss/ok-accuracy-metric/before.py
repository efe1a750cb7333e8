import torch
import torch.nn.functional as F


def train_epoch(model, loader, optimizer):
    correct, seen = 0, 0
    for images, labels in loader:
        logits = model(images)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        pred = logits.argmax(dim=1)
        correct += (pred == labels).sum().item()
        seen += labels.numel()
    return correct / seen
