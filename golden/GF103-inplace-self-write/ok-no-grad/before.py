import torch
from torch import nn

model = nn.Linear(3, 3)
with torch.no_grad():
    w = model.weight * 1.0
    w[0] = w[1] * w[2]
buf = torch.randn(3)
buf[2] = buf[0] / buf[1]
print(w, buf)
