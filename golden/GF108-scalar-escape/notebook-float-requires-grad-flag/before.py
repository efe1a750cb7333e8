# %%
import torch

torch.manual_seed(0)
X = torch.randn(20, 3)
y = X @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(20)
w = torch.zeros(3, requires_grad=True)

# %%
pred = X @ w
loss = float(((pred - y) ** 2).mean())
loss = torch.tensor(loss)
loss.requires_grad = True
print("FORWARD", repr(loss.item()))

# %%
loss.backward()
print("GRAD w", None if w.grad is None else repr(w.grad.tolist()))
