import torch
import torch.nn as nn

G = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 2))
D = nn.Sequential(nn.Linear(2, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1))
opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
opt_d = torch.optim.RMSprop(D.parameters(), lr=5e-5)
bce = nn.BCEWithLogitsLoss()
clip = 0.01

for real in [torch.randn(16, 2) for _ in range(5)]:
    z = torch.randn(real.size(0), 16)
    with torch.no_grad():
        fake = G(z)
    d_loss = bce(D(real), torch.ones(16, 1)) + bce(D(fake), torch.zeros(16, 1))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    with torch.no_grad():
        for p in D.parameters():
            p.clamp_(-clip, clip)

    g_loss = bce(D(G(z)), torch.ones(16, 1))
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
