# %%
import torch

torch.manual_seed(0)
t = torch.randn(8, requires_grad=True)

# %%
# a signed cube root: both branches are unsafe where the other one is selected
y = torch.where(t > 0, torch.where(t > 0, t, 1.0) ** (1 / 3), -(torch.where(t > 0, 1.0, -t) ** (1 / 3)))
print("FORWARD", repr(y.tolist()))
y.sum().backward()
print("GRAD t", repr(t.grad.tolist()))
