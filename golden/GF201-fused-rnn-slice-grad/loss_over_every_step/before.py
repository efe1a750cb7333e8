import torch
import torch.nn as nn
import torch.nn.functional as F

lstm = nn.LSTM(3, 8)
readout = nn.Linear(8, 1)
x = torch.randn(12, 2, 3)
y = torch.randn(12, 2, 1)

out, _ = lstm(x)
out.retain_grad()
loss = 0.0
for t in range(x.shape[0]):
    loss = loss + F.mse_loss(readout(out[t]), y[t])
loss.backward()
print(out.grad[0].norm())  # non-zero: the loss reads out[t] for every t
