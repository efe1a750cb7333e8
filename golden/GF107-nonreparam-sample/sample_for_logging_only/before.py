import torch
import torch.nn as nn
from torch.distributions import Normal

enc = nn.Linear(4, 2)
x = torch.randn(10, 4)
q = Normal(enc(x), 1.0)
z = q.sample()
print(z.mean().item())
samples = z.numpy()
