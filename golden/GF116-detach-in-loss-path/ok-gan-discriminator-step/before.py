import torch
from torch import nn


def train_gan(G, D, loader, z_dim, epochs=1, device="cpu"):
    opt_G = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    criterion = nn.BCEWithLogitsLoss()
    for _ in range(epochs):
        for real, _ in loader:
            real = real.to(device)
            z = torch.randn(real.size(0), z_dim, device=device)
            fake = G(z)
            ones = torch.ones(real.size(0), 1, device=device)
            zeros = torch.zeros(real.size(0), 1, device=device)

            opt_D.zero_grad()
            loss_D = criterion(D(real), ones) + criterion(D(fake.detach()), zeros)
            loss_D.backward()
            opt_D.step()

            opt_G.zero_grad()
            loss_G = criterion(D(fake), ones)
            loss_G.backward()
            opt_G.step()
