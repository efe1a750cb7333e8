import torch
import torch.nn as nn

nz = 16
netG = nn.Sequential(nn.Linear(nz, 32), nn.ReLU(), nn.Linear(32, 8), nn.Tanh())
netD = nn.Sequential(nn.Linear(8, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1))
critic = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1))
optD = torch.optim.Adam(netD.parameters(), lr=2e-4)
optG = torch.optim.Adam(netG.parameters(), lr=2e-4)
optC = torch.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.0, 0.9))
criterion = nn.BCEWithLogitsLoss()
loader = [torch.randn(64, 8) for _ in range(10)]

for real in loader:
    # Discriminator step on a detached fake: the generator's graph stays for its own step.
    fake = netG(torch.randn(real.size(0), nz))
    optD.zero_grad()
    loss_d = criterion(netD(real), torch.ones(64, 1)) + criterion(netD(fake.detach()), torch.zeros(64, 1))
    loss_d.backward()
    optD.step()
    optG.zero_grad()
    loss_g = criterion(netD(fake), torch.ones(64, 1))
    loss_g.backward()
    optG.step()

for real in loader:
    # WGAN-GP critic: the penalty's autograd.grad keeps its graph with create_graph=True.
    fake = netG(torch.randn(real.size(0), nz)).detach()
    alpha = torch.rand(real.size(0), 1)
    interp = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    scores = critic(interp)
    grads = torch.autograd.grad(scores.sum(), interp, create_graph=True)[0]
    penalty = ((grads.norm(2, dim=1) - 1) ** 2).mean()
    loss_c = critic(fake).mean() - critic(real).mean() + 10 * penalty
    optC.zero_grad()
    loss_c.backward()
    optC.step()

for real in loader:
    # An older style: retain_graph on the D step, the generator's gradients cleared before its own step.
    fake = netG(torch.randn(real.size(0), nz))
    netD.zero_grad()
    loss_d = criterion(netD(real), torch.ones(64, 1)) + criterion(netD(fake), torch.zeros(64, 1))
    loss_d.backward(retain_graph=True)
    optD.step()
    netG.zero_grad()
    loss_g = criterion(netD(fake), torch.ones(64, 1))
    loss_g.backward()
    optG.step()
