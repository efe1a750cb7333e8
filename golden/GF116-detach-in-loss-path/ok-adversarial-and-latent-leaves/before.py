import torch
from torch import nn

torch.manual_seed(0)
classifier = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
generator = nn.Sequential(nn.Linear(2, 4), nn.Tanh())
x = torch.randn(5, 4)
y = torch.randint(0, 3, (5,))

# FGSM: the input is the leaf, the attack reads its gradient
x_adv = x.detach().clone()
x_adv.requires_grad_(True)
attack_loss = nn.functional.cross_entropy(classifier(x_adv), y)
attack_loss.backward()
x_adv = (x_adv + 0.1 * x_adv.grad.sign()).detach()

# latent optimisation: a detached sample of the generator is the trained leaf
z = generator(torch.randn(5, 2)).detach()
z.requires_grad = True
latent_opt = torch.optim.Adam([z], lr=0.01)
for _ in range(3):
    latent_opt.zero_grad()
    fit = nn.functional.cross_entropy(classifier(z), y)
    fit.backward()
    latent_opt.step()
