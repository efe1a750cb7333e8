import torch
import torch.nn as nn


def train_epoch(model, loader, criterion, optimizer, device="cpu"):
    model.train()
    correct = total = 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        with torch.no_grad():
            outputs = model(images)
            correct += (outputs.argmax(dim=1) == labels).sum().item()
            total += labels.size(0)
        loss = criterion(outputs, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return correct / total


model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 5))
train_epoch(model, [], nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1))
