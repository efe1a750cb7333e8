import torch
import torch.nn.functional as F


def clipped(input, inplace=False):
    if inplace:
        return torch.nn.functional.hardtanh_(input)
    return F.hardtanh(input)


def partial_conv_inference(conv, x, d):
    # slicing form, for inference only; the self-write is GF103's family
    x = x.clone()
    x[:, :d] = conv(x[:, :d])
    return x
