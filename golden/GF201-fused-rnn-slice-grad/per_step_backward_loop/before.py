import torch
import torch.nn as nn

gru = nn.GRU(4, 6, batch_first=True)
y, _ = gru(torch.randn(3, 7, 4))
y.retain_grad()
for t in range(y.shape[1]):
    y[:, t].sum().backward(retain_graph=True)
print(y.grad[:, 0])  # accumulated over one backward per step: every slot was read
