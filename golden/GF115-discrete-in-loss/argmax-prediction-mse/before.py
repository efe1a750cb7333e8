import torch
import torch.nn.functional as F


def train(model, loader, optimizer, epochs=1):
    model.train()
    for _ in range(epochs):
        for images, labels in loader:
            logits = model(images)
            pred = logits.softmax(1).argmax(1).float()
            loss = F.mse_loss(pred, labels.float())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
