import torch
from torch import nn


class GAN:
    def __init__(self, latent=4, features=6):
        self.generator = nn.Sequential(nn.Linear(latent, 16), nn.ReLU(), nn.Linear(16, features))
        self.discriminator = nn.Sequential(nn.Linear(features, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=1e-4)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=1e-4)
        self.latent = latent

    def train(self, loader, epochs=5):
        bce = nn.BCEWithLogitsLoss()
        for epoch in range(epochs):
            for real in loader:
                self.opt_g.zero_grad()
                self.opt_d.zero_grad()
                fake = self.generator(torch.randn(real.size(0), self.latent))
                d_real = self.discriminator(real)
                d_fake = self.discriminator(fake)
                loss_d = bce(d_real, torch.ones_like(d_real)) + bce(d_fake, torch.zeros_like(d_fake))
                loss_d.backward(retain_graph=True)
                self.opt_d.step()
                g_out = self.discriminator(fake)
                loss_g = bce(g_out, torch.ones_like(g_out))
                loss_g.backward()
                self.opt_g.step()
