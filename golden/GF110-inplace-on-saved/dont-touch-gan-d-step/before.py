import torch
from torch import nn

G = nn.Sequential(nn.Linear(8, 16), nn.LeakyReLU(0.2, inplace=True), nn.Linear(16, 4), nn.Tanh())
D = nn.Sequential(nn.Linear(4, 16), nn.LeakyReLU(0.2, inplace=True), nn.Linear(16, 1))
opt_d = torch.optim.Adam(D.parameters())
opt_g = torch.optim.Adam(G.parameters())
criterion = nn.BCEWithLogitsLoss()

for step in range(2):
    real = torch.randn(16, 4)
    real += 0.05 * torch.randn_like(real)
    fake = G(torch.randn(16, 8))
    d_loss = criterion(D(real), torch.ones(16, 1)) + criterion(D(fake.detach()), torch.zeros(16, 1))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = criterion(D(fake), torch.ones(16, 1))
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    running = d_loss.item()
    running += g_loss.item()
