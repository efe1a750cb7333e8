import torch
import torch.nn as nn


class Generator(nn.Module):
    def __init__(self, nz, nout):
        super().__init__()
        self.main = nn.Sequential(nn.Linear(nz, 8), nn.ReLU(), nn.Linear(8, nout), nn.Tanh())

    def forward(self, z):
        return self.main(z)


class Discriminator(nn.Module):
    def __init__(self, nin):
        super().__init__()
        self.main = nn.Sequential(nn.Linear(nin, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))

    def forward(self, x):
        return self.main(x)


torch.manual_seed(0)
netG, netD = Generator(2, 3), Discriminator(3)
optimizerD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
optimizerG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
criterion = nn.BCEWithLogitsLoss()
dataloader = [torch.randn(4, 3)]

for i, real in enumerate(dataloader):
    # (1) Update D: maximize log(D(x)) + log(1 - D(G(z)))
    netD.zero_grad()
    errD_real = criterion(netD(real), torch.ones(4, 1))
    noise = torch.randn(4, 2)
    fake = netG(noise)
    errD_fake = criterion(netD(fake), torch.zeros(4, 1))
    errD = errD_real + errD_fake
    print("FORWARD", repr(errD.item()))
    errD.backward()
    optimizerD.step()
    # (2) Update G: maximize log(D(G(z)))
    netG.zero_grad()
    errG = criterion(netD(fake), torch.ones(4, 1))
    print("FORWARD", repr(errG.item()))
    errG.backward()
    optimizerG.step()
print("GRAD netG.main.0.weight", repr(netG.main[0].weight.grad.tolist()))
