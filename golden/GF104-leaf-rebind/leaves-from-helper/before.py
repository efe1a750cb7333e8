import torch


def make_params(n_in, n_out):
    w = torch.randn(n_in, n_out, requires_grad=True)
    b = torch.zeros(n_out, requires_grad=True)
    return w, b


torch.manual_seed(10)
W, b = make_params(4, 2)
W = W * 0.1
x = torch.randn(8, 4)
loss = (x @ W + b).tanh().pow(2).mean()
print("forward", repr(loss.tolist()))
loss.backward()
print("grad", "W", None if W.grad is None else repr(W.grad.tolist()))
print("grad", "b", None if b.grad is None else repr(b.grad.tolist()))
