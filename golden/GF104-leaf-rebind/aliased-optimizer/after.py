import torch as T

T.manual_seed(1)
w = T.randn(4, requires_grad=True)
w_scaled = w / 3.0
x = T.linspace(-1.0, 1.0, 4)
loss = ((w_scaled * x).sum() - 1.0) ** 2
print("forward", repr(loss.tolist()))
loss.backward()
print("grad", "w", None if w.grad is None else repr(w.grad.tolist()))
opt = T.optim.SGD([w], lr=0.1)
opt.step()
