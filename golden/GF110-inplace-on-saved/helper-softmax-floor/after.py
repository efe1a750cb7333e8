import torch


def sparse_attention(q, k, v, threshold=1e-3):
    attn = torch.softmax(q @ k.transpose(-2, -1), dim=-1)
    attn_new = attn.clone()
    attn_new[attn < threshold] = 0
    attn = attn_new
    return attn @ v


proj = torch.nn.Linear(8, 8)
tokens = torch.randn(2, 5, 8)
mixed = sparse_attention(proj(tokens), proj(tokens), tokens)
