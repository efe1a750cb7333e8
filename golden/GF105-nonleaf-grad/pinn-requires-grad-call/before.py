import torch


def residual(net, n, device):
    t = torch.linspace(0, 1, n).requires_grad_().to(device).view(-1, 1)
    x = torch.rand(n, 1)
    x.requires_grad = True
    xt = torch.cat([x, t], dim=1).to(device)
    u = net(xt)
    u_t, u_x = torch.autograd.grad(u.sum(), [t, x], create_graph=True)
    return (u_t - 0.1 * u_x).pow(2).mean()
