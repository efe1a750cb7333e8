import torch

torch.manual_seed(0)
w = torch.randn(3, requires_grad=True)
x = torch.randn(16, 3)
y = x @ torch.tensor([1.0, -2.0, 0.5])
lr = 0.1


def sgd_step():
    w.sub_(lr * w.grad)
    w.grad.zero_()


for _ in range(20):
    loss = ((x @ w - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        sgd_step()
print(w.tolist())
