import torch
import torch.nn.functional as F

# %%
weights = torch.randn(10, 3, requires_grad=True)
bias = torch.zeros(3, requires_grad=True)
weights = weights * 0.01

# %%
params = [weights, bias]
optimizer = torch.optim.Adam(params, lr=1e-3)

# %%
for step in range(100):
    x = torch.randn(16, 10)
    y = torch.randint(0, 3, (16,))
    loss = F.cross_entropy(x @ weights + bias, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
