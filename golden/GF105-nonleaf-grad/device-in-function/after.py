import torch


def make_problem(n, device):
    A = torch.randn(n, n).to(device)
    x = torch.zeros(n, 1).to(device).requires_grad_()
    opt = torch.optim.LBFGS([x], lr=1.0)
    return A, x, opt
