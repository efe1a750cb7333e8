import torch

use_cuda = torch.cuda.is_available()
dtype = torch.cuda.DoubleTensor if use_cuda else torch.DoubleTensor

torch.manual_seed(7)
x = torch.randn(8, 3).type(dtype)
y = torch.randn(8, 1).type(dtype)
w1 = torch.randn(3, 4, requires_grad=True).type(dtype)
w2 = torch.randn(4, 1, requires_grad=True).type(dtype)
loss = ((x @ w1).clamp(min=0) @ w2 - y).pow(2).sum()
print("forward", repr(loss.tolist()))
loss.backward()
print("grad", "w1", None if w1.grad is None else repr(w1.grad.tolist()))
print("grad", "w2", None if w2.grad is None else repr(w2.grad.tolist()))
