import torch


class LinearFit:
    def __init__(self, n):
        self.w = torch.zeros(n, requires_grad=True)

    def step(self, X, y, lr=0.1):
        loss = ((X @ self.w - y) ** 2).mean()
        loss.backward()
        self.w = self.w - lr * self.w.grad
        return loss.item()


fit = LinearFit(3)
X, y = torch.randn(16, 3), torch.randn(16)
for _ in range(5):
    fit.step(X, y)
