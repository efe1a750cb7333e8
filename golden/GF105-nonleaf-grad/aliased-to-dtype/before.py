import torch as T

T.manual_seed(2)
mu = T.rand(2, 3, requires_grad=True).to(T.float64)
target = T.ones(2, 3, dtype=T.float64)
loss = ((mu - target) ** 2).sum()
print("forward", repr(loss.tolist()))
loss.backward()
print("grad", "mu", None if mu.grad is None else repr(mu.grad.flatten().tolist()))
params = [mu]
opt = T.optim.Adam(params, lr=0.01)
