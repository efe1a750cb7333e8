import torch


def penalty(w, x):
    w = w * 2
    return (w * x).sum()


w = torch.randn(3, requires_grad=True)
loss = penalty(w, torch.ones(3))
loss.backward()
print(w.grad)
