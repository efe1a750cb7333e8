import torch

torch.manual_seed(1)
X = torch.randn(16, 5)
Y = torch.randn(16, 1)
W = (torch.randn(5, 1) * 0.01).requires_grad_()
b = torch.zeros(1, requires_grad=True)
loss = ((X @ W + b - Y) ** 2).mean()
print("forward", repr(loss.tolist()))
loss.backward()
print("grad", "W", None if W.grad is None else repr(W.grad.flatten().tolist()))
opt = torch.optim.SGD([W, b], lr=0.1)
opt.step()
