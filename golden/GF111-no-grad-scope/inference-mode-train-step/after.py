import torch
import torch.nn as nn
import torch.nn.functional as F


def make_model():
    return nn.Sequential(nn.Linear(6, 16), nn.GELU(), nn.Linear(16, 4))


def train_step(model, batch, optimizer):
    x, y = batch
    logits = model(x)
    loss = F.cross_entropy(logits, y, label_smoothing=0.1)
    print("FORWARD", repr(loss.item()))
    optimizer.zero_grad()
    loss.backward()
    for name, p in model.named_parameters():
        if name.endswith("weight"):
            print("GRAD", name, None if p.grad is None else repr(p.grad.tolist()))
    optimizer.step()
    return loss.item()


torch.manual_seed(0)
model = make_model()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
batch = (torch.randn(10, 6), torch.randint(0, 4, (10,)))
train_step(model, batch, optimizer)
