import torch
from torch.distributions import Normal

torch.manual_seed(2)
loc = torch.zeros(3, requires_grad=True)
raw_scale = torch.zeros(3, requires_grad=True)
q = Normal(loc, torch.nn.functional.softplus(raw_scale))
target = torch.tensor([1.0, -1.0, 0.5])

z = q.sample((16,))
loss = ((z - target) ** 2).mean()
print("FWD", z.tolist(), loss.item())
loss.backward()
print("GRAD", [None if t.grad is None else t.grad.abs().sum().item() for t in (loc, raw_scale)])
