import torch


def fit(w, X, Y, lr=0.05, steps=20):
    for _ in range(steps):
        loss = ((X @ w - Y) ** 2).mean()
        loss.backward()
        w = w - lr * w.grad
    return w


X = torch.randn(64, 2)
Y = X @ torch.tensor([2.0, -1.0])
w0 = torch.zeros(2, requires_grad=True)
w_fit = fit(w0, X, Y)
