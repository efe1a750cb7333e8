import torch


def sparse_attention(q, k, v, threshold=1e-3):
    attn = torch.softmax(q @ k.transpose(-2, -1), dim=-1)
    attn[attn < threshold] = 0
    return attn @ v
