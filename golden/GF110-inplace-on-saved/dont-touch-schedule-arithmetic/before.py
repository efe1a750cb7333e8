import torch


def rescale_zero_terminal_snr(betas):
    alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)
    alphas_bar_sqrt = alphas_cumprod.sqrt()
    first = alphas_bar_sqrt[0].clone()
    last = alphas_bar_sqrt[-1].clone()
    alphas_bar_sqrt -= last
    alphas_bar_sqrt *= first / (first - last)
    return alphas_bar_sqrt


betas = rescale_zero_terminal_snr(torch.linspace(1e-4, 0.02, 1000))
