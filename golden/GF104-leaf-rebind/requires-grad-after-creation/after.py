import torch

torch.manual_seed(6)
x = torch.randn(3, 2)
x.requires_grad = True
x_converted = x.double()
target = torch.ones(3, 2, dtype=torch.float64)
loss = ((x_converted - target) ** 2).sum()
print("forward", repr(loss.tolist()))
loss.backward()
print("grad", "x", None if x.grad is None else repr(x.grad.tolist()))
opt = torch.optim.SGD([x], lr=0.1)
opt.step()
