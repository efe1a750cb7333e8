import torch
import torch.nn.functional as F


def split_attention(scores, k):
    weights = F.softmax(scores, dim=-1)
    head = weights.split(k, dim=-1)[0]
    head[head < 0.01] = 0.0
    return weights
