import torch

torch.manual_seed(0)
x = torch.randn(8, 3)
y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.3

w = torch.zeros(3)
b = torch.zeros(1)
w.require_grad = True
b.require_grad = True

pred = x @ w + b
loss = ((pred - y) ** 2).mean()
print("FORWARD", repr(loss.item()))
loss.backward()
print("GRAD w", None if w.grad is None else repr(w.grad.tolist()))
print("GRAD b", None if b.grad is None else repr(b.grad.tolist()))
