import torch

torch.manual_seed(0)
w = torch.randn(4).double().requires_grad_()
y = (w.sin() * 3).sum()
print("forward", repr(y.tolist()))
y.backward()
print("grad", "w", None if w.grad is None else repr(w.grad.tolist()))
