"""A latent sample drawn with torch.normal(mu, std) (the torch side of seed 002).

torch.normal's gradient with respect to mu and std is defined as zero: the encoder never
learns. `gradfix apply` writes the reparameterised form, bitwise equal in the forward.
"""

import torch
from torch import nn

torch.manual_seed(0)
encoder = nn.Linear(6, 4)
decoder = nn.Linear(2, 6)
x = torch.randn(16, 6)

stats = encoder(x)
mu, log_var = stats[:, :2], stats[:, 2:]
std = torch.exp(0.5 * log_var)
z = torch.normal(mu, std)
recon = decoder(z)
loss = ((recon - x) ** 2).mean()
loss.backward()
print("loss", loss.item())
print("encoder grad norm", encoder.weight.grad.norm().item())
