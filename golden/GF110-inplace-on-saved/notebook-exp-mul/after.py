# %%
import torch

torch.manual_seed(0)
log_sigma = torch.zeros(3, requires_grad=True)

# %%
sigma = log_sigma.exp()
sigma = sigma.mul(0.5)

# %%
noise = torch.randn(10, 3)
samples = noise * sigma
samples.var(0).sum().backward()
log_sigma.grad
