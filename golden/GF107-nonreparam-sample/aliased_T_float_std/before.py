import torch as T

T.manual_seed(3)
centre = T.nn.Parameter(T.randn(7))
noisy = T.normal(centre, 0.5)
loss = (noisy - 1.0).pow(2).sum()
print("FWD", noisy.tolist(), loss.item())
loss.backward()
print("GRAD", [None if centre.grad is None else centre.grad.abs().sum().item()])
