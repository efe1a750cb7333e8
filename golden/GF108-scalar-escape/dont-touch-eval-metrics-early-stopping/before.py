import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

model = nn.Linear(5, 3)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
best_val, patience = float("inf"), 0


def evaluate(model, x, y):
    model.eval()
    with torch.no_grad():
        logits = model(x)
        val_loss = F.cross_entropy(logits, y).item()
        preds = logits.argmax(-1).cpu().numpy()
        accuracy = float(np.mean(preds == y.numpy()))
    model.train()
    return val_loss, accuracy


for epoch in range(20):
    x, y = torch.randn(16, 5), torch.randint(0, 3, (16,))
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    val_loss, accuracy = evaluate(model, torch.randn(16, 5), torch.randint(0, 3, (16,)))
    if val_loss < best_val - 1e-4:
        best_val, patience = val_loss, 0
    else:
        patience += 1
        if patience > 3 or loss.item() < 1e-3:
            break
