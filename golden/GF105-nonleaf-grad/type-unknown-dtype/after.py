import torch


def init_weights(shape, dtype):
    w = torch.randn(*shape).type(dtype).requires_grad_()
    opt = torch.optim.Adam([w], lr=1e-3)
    return w, opt
