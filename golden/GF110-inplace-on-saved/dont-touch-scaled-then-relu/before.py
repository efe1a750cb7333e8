import torch
import torch.nn.functional as F

w = torch.randn(5, requires_grad=True)
h = w * 2
F.relu(h, inplace=True)
z = torch.sigmoid(w)
y = z + 1
y += 3
u = torch.tanh(w)
v = u * 0.5
v.clamp_(-0.2, 0.2)
(h.sum() + y.sum() + v.sum()).backward()
