import torch

w = torch.randn(3, requires_grad=True)
loss = (w ** 2).sum()
loss.backward()
with torch.no_grad():
    w -= 0.1 * w.grad
w.grad.zero_()
x = torch.randn(3, requires_grad=True)
x = x.detach()
print(x.grad, w.grad)
