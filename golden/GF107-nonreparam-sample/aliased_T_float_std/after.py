import torch as T

T.manual_seed(3)
centre = T.nn.Parameter(T.randn(7))
noisy = centre + T.normal(0.0, 0.5, centre.shape, dtype=centre.dtype, device=centre.device)
loss = (noisy - 1.0).pow(2).sum()
print("FWD", noisy.tolist(), loss.item())
loss.backward()
print("GRAD", [None if centre.grad is None else centre.grad.abs().sum().item()])
