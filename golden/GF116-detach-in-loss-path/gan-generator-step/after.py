import torch
from torch import nn

torch.manual_seed(0)
G = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 4))
D = nn.Sequential(nn.Linear(4, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
opt_G = torch.optim.Adam(G.parameters(), lr=1e-3)
opt_D = torch.optim.Adam(D.parameters(), lr=1e-3)
bce = nn.BCEWithLogitsLoss()

real = torch.randn(5, 4)
z = torch.randn(5, 3)
fake = G(z)

# discriminator step
opt_D.zero_grad()
d_loss = bce(D(real), torch.ones(5, 1)) + bce(D(fake.detach()), torch.zeros(5, 1))
d_loss.backward()
opt_D.step()

# generator step
opt_G.zero_grad()
g_loss = bce(D(fake), torch.ones(5, 1))
print("FORWARD", repr(g_loss.item()))
g_loss.backward()
print("GRAD G.0.weight", None if G[0].weight.grad is None else repr(G[0].weight.grad.tolist()))
opt_G.step()
