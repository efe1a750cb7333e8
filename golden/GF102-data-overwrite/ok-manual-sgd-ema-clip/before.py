import torch
from torch import nn

model = nn.Linear(3, 1)
ema = nn.Linear(3, 1)
lr = 0.01

loss = model(torch.randn(5, 3)).pow(2).mean()
loss.backward()
for p, q in zip(model.parameters(), ema.parameters()):
    p.data = p - lr * p.grad
    q.data = 0.99 * q.data + 0.01 * p.data
    p.data = p.data.clamp(-1, 1)
