import torch

X = torch.randn(32, 3)
Y = X @ torch.tensor([1.0, -2.0, 0.5])
w = torch.zeros(3, requires_grad=True)
lr = 0.1
for it in range(20):
    loss = ((X @ w - Y) ** 2).mean()
    loss.backward()
    w = w - lr * w.grad
