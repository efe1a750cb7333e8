import torch

t = torch.randn(12, requires_grad=True)
T = t.view(3, 4)
t64 = t.double()
loss = T.sum() + t64.prod()
loss.backward()
print(t.grad)
opt = torch.optim.SGD([t], lr=0.1)
