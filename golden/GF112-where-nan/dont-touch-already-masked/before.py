import torch


def safe_sqrt(x):
    positive = x > 0
    return torch.where(positive, torch.sqrt(torch.where(positive, x, 1.0)), 0.0)


def safe_log(p, eps=1e-12):
    return torch.where(p > 0, torch.log(p.clamp(min=eps)), torch.zeros_like(p))


def smooth_dist(a, b):
    sq = ((a - b) ** 2).sum(-1)
    return torch.where(sq > 0, torch.sqrt(sq + 1e-12), torch.zeros_like(sq))


def hoisted(x):
    safe = torch.where(x > 0, x, torch.ones_like(x))
    return torch.where(x > 0, torch.log(safe), x)
