import torch


def init_weights(shape, dtype):
    w = torch.randn(*shape, requires_grad=True).type(dtype)
    opt = torch.optim.Adam([w], lr=1e-3)
    return w, opt
