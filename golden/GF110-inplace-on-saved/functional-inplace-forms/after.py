import torch
import torch.nn.functional as F

torch.manual_seed(0)
x = torch.randn(4, requires_grad=True)

h = torch.exp(x)
h = F.relu(h)
g = torch.sigmoid(x)
g = torch.relu(g)
t = x.tanh()
t = t.add(1)
u = F.softmax(x, dim=0)
v = F.leaky_relu(u, 0.2)
total = h.sum() + g.sum() + t.sum() + v.sum()
print("FORWARD", repr([h.tolist(), g.tolist(), t.tolist(), v.tolist()]))
total.backward()
print("GRAD x", None if x.grad is None else repr(x.grad.tolist()))
