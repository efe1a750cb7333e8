import torch

# %%
x = torch.linspace(-1, 1, 50)
a = torch.randn(1)
a.requires_grad_()

# %%
b = torch.randn(1)
b.requires_grad_(True)

# %%
loss = ((a * x + b - torch.sin(x)) ** 2).mean()
loss.backward()
print(a.grad, b.grad)
