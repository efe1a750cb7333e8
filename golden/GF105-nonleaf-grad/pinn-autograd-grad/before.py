import torch

device = "cpu"
t = torch.linspace(0, 1, 50, requires_grad=True).to(device).view(-1, 1)
u = torch.sin(3 * t)
du_dt = torch.autograd.grad(u.sum(), t, create_graph=True)[0]
residual = (du_dt - 3 * torch.cos(3 * t)).pow(2).mean()
