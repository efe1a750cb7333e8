import torch

torch.manual_seed(8)
A = torch.randn(5, 5, dtype=torch.float64)
b = torch.randn(5, 1, dtype=torch.float64)
x = torch.zeros(5, 1).double().requires_grad_()
loss = (A @ x - b).pow(2).sum()
print("forward", repr(loss.tolist()))
loss.backward()
print("grad", "x", None if x.grad is None else repr(x.grad.flatten().tolist()))
opt = torch.optim.SGD([x], lr=0.01)
opt.step()
