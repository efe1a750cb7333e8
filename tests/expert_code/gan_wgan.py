"""A DCGAN-style training loop with a WGAN weight-clipping variant."""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
nz = 8


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(nn.Linear(nz, 16), nn.ReLU(True), nn.Linear(16, 4), nn.Tanh())

    def forward(self, z):
        return self.main(z)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(nn.Linear(4, 16), nn.LeakyReLU(0.2, inplace=True), nn.Linear(16, 1))

    def forward(self, x):
        return self.main(x).view(-1)


netG, netD = Generator(), Discriminator()
optD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
optG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
fixed_noise = torch.randn(4, nz)
history = {"d": [], "g": []}
clip = 0.01
data = [torch.randn(8, 4) for _ in range(3)]

for epoch in range(2):
    for i, real in enumerate(data):
        # (1) discriminator: real batch, then a generated batch that G must not learn from
        netD.zero_grad()
        label = torch.full((real.size(0),), 1.0)
        errD_real = F.binary_cross_entropy_with_logits(netD(real), label)
        errD_real.backward()
        noise = torch.randn(real.size(0), nz)
        fake = netG(noise)
        label.fill_(0.0)
        errD_fake = F.binary_cross_entropy_with_logits(netD(fake.detach()), label)
        errD_fake.backward()
        errD = errD_real + errD_fake
        optD.step()
        for p in netD.parameters():  # WGAN clipping
            p.data.clamp_(-clip, clip)

        # (2) generator
        netG.zero_grad()
        label.fill_(1.0)
        errG = F.binary_cross_entropy_with_logits(netD(fake), label)
        errG.backward()
        D_G_z2 = torch.sigmoid(netD(fake)).mean().item()
        optG.step()
        history["d"].append(errD.item())
        history["g"].append(errG.item())
        if i % 2 == 0:
            print(f"[{epoch}/{i}] Loss_D {errD.item():.4f} Loss_G {errG.item():.4f} D(G(z)) {D_G_z2:.4f}")

    with torch.no_grad():
        samples = netG(fixed_noise).detach().cpu().numpy()
