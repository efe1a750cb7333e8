import torch


def make_problem(n, device):
    A = torch.randn(n, n).to(device)
    x = torch.zeros(n, 1, requires_grad=True).to(device)
    opt = torch.optim.LBFGS([x], lr=1.0)
    return A, x, opt
